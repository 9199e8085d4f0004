"""Health tiers: the default cut of the margin ratio, configuration errors that name the field,
and the margin-call config's consistency checks."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from offchain.devnet.margin_calls import load_config
from offchain.devnet.tiers import (
    CLOSED,
    IN_LIQUIDATION,
    UNKNOWN,
    TierPolicy,
    classify,
    load_tier_policy,
    margin_ratio,
)
from zkmargin.errors import InputError

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(("ratio", "tier"), [
    (math.inf, "healthy"), (1.5, "healthy"), (1.4999, "warning"), (1.2, "warning"), (1.19, "margin_call"),
    (1.0, "margin_call"), (0.9999, "liquidatable"), (0.0, "liquidatable"), (-3.0, "liquidatable"),
])
def test_default_tiers(ratio, tier):
    assert TierPolicy().classify(ratio) == tier


def test_ratio_and_statuses():
    p = TierPolicy()
    assert margin_ratio(150, 100) == 1.5 and margin_ratio(5, 0) == math.inf and margin_ratio(-5, 0) == -math.inf
    common = {"in_liquidation": False, "liquidation_reason": 0}
    assert classify(p, commitment=0, equity=1, requirement=1, **common) == (CLOSED, None)
    assert classify(p, commitment=7, equity=None, requirement=None, **common) == (UNKNOWN, None)
    assert classify(p, commitment=7, in_liquidation=True, liquidation_reason=0, equity=1, requirement=1) == (IN_LIQUIDATION, None)
    assert classify(p, commitment=7, equity=130, requirement=100, **common) == ("warning", 1.3)
    # liquidatable on-chain (no fresh proof after the grace window) whatever the figures say
    assert classify(p, commitment=7, in_liquidation=False, liquidation_reason=1, equity=300, requirement=100) == ("liquidatable", 3.0)
    assert p.at_or_below("liquidatable", "margin_call") and p.at_or_below("margin_call", "margin_call")
    assert not p.at_or_below("warning", "margin_call") and not p.at_or_below(CLOSED, "margin_call")


def test_custom_tiers():
    p = load_tier_policy({"tiers": [{"name": "ok", "min_ratio": 2}, {"name": "call", "min_ratio": 1.1}, {"name": "bust"}]})
    assert [p.classify(r) for r in (2.0, 1.5, 1.1, 1.05)] == ["ok", "call", "call", "bust"]


@pytest.mark.parametrize(("tiers", "field", "words"), [
    ([{"name": "a", "min_ratio": 1}, {"name": "b", "min_ratio": 2}, {"name": "c"}], "margin_calls", "decrease"),
    ([{"name": "a", "min_ratio": 1}, {"name": "b", "min_ratio": 0.5}], "margin_calls", "no min_ratio"),
    ([{"name": "a", "min_ratio": 1}, {"name": "closed"}], "margin_calls", "statuses"),
    ([{"name": "a", "min_ratio": 1}, {"name": "a"}], "margin_calls", "unique"),
    ([{"name": "a", "min_ratio": 1, "max_ratio": 3}, {"name": "b"}], "margin_calls.tiers[0].max_ratio", "unknown key"),
    ([{"name": "Bad Name", "min_ratio": 1}, {"name": "b"}], "margin_calls.tiers[0].name", "pattern"),
])
def test_bad_tiers_name_the_field(tiers, field, words):
    with pytest.raises(InputError) as e:
        load_tier_policy({"tiers": tiers})
    assert e.value.field == field and words in e.value.problem


def test_margin_call_config_checks():
    cfg = load_config(ROOT / "config" / "margin-calls.json")
    assert cfg.policy.names == ["healthy", "warning", "margin_call", "liquidatable"]
    assert cfg.top_up.trigger_tier == "margin_call" and cfg.webhooks[0].url.startswith("http://127.0.0.1:")
    with pytest.raises(InputError, match="trigger_tier 'panic' is not a tier"):
        load_config({"top_up": {"trigger_tier": "panic"}})
    with pytest.raises(InputError, match="target_ratio"):
        load_config({"top_up": {"target_ratio": 1.1}})  # would leave the account in margin call
    with pytest.raises(InputError) as e:
        load_config({"top_up": {"trigger": "warning"}})
    assert e.value.field == "margin_calls.top_up.trigger"
