"""pytest fixtures for devnet integration tests of zkmargin, usable from any ape project.

Installed as a pytest plugin (entry point ``pytest11: zkmargin``), so an ape test suite that has
zkmargin installed can use, with no import::

    def test_crash_liquidates(zkm_protocol, zkm_users, zkm_liquidator):
        p = zkm_protocol
        p.open_account(zkm_users[0], {"BTC-PERP": 2_000}, deposit_units=20_000 * 10**6)
        p.report_prices({"BTC": 0.6 * p.spots["BTC"], "ETH": p.spots["ETH"]})
        p.post_epoch(vols=zkm_vols)
        ...

The fixtures need ape's own (``accounts``, ``chain``), so run under ``ape test``. Deployments
are session-scoped; ape's isolation restores the chain around each test, but the
:class:`~offchain.chain.protocol.Protocol` object keeps off-chain state (the operator's book,
the latest epoch), so tests that change it should use ``zkm_fresh_protocol``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

#: Spots (USD) the fixtures list instruments around and report first.
DEFAULT_SPOTS = {"BTC": 43_000.0, "ETH": 3_400.0}
#: Implied vols per underlying used for option marks and vol shocks.
DEFAULT_VOLS = {"BTC": 0.8, "ETH": 0.9}
#: Grace window after each epoch (seconds).
DEFAULT_GRACE_SECONDS = 600


def zk_cache_dir() -> Path:
    """Where the deterministic devnet proving keys are cached (``$ZKMARGIN_ZK_DIR`` or ``.build/zk``)."""
    env = os.environ.get("ZKMARGIN_ZK_DIR")
    return Path(env) if env else Path.cwd() / ".build" / "zk"


def deploy_default(owner: Any, spots: dict[str, float] | None = None, vols: dict[str, float] | None = None, **kw: Any) -> Any:
    """Deploy the devnet protocol (8 instruments x 15 scenarios), report ``spots``, post epoch 1."""
    from ape import chain

    from offchain.chain.listing import devnet_listing, devnet_risk_config
    from offchain.chain.protocol import Protocol

    spots = dict(spots or DEFAULT_SPOTS)
    now = int(chain.blocks.head.timestamp)
    kw.setdefault("grace_period_seconds", DEFAULT_GRACE_SECONDS)
    p = Protocol.deploy(owner, devnet_listing(now, spots), zk_dir=zk_cache_dir(), risk_config=devnet_risk_config(), **kw)
    p.report_prices(spots)
    p.post_epoch(vols=dict(vols or DEFAULT_VOLS))
    return p


@pytest.fixture(scope="session")
def zkm_vols() -> dict[str, float]:
    return dict(DEFAULT_VOLS)


@pytest.fixture(scope="session")
def zkm_owner(accounts: Any) -> Any:
    """Deployer, risk keeper, oracle reporter and operator."""
    return accounts[0]


@pytest.fixture(scope="session")
def zkm_users(accounts: Any) -> list[Any]:
    """Trader accounts (no commitment yet)."""
    return [accounts[i] for i in range(1, 7)]


@pytest.fixture(scope="session")
def zkm_liquidator(accounts: Any) -> Any:
    """A liquidator address (never opens a margin account)."""
    return accounts[9]


@pytest.fixture(scope="session")
def zkm_protocol(zkm_owner: Any) -> Any:
    """One deployment per session with epoch 1 posted."""
    return deploy_default(zkm_owner)


@pytest.fixture
def zkm_fresh_protocol(zkm_owner: Any) -> Any:
    """A new deployment for a test that changes the off-chain state."""
    return deploy_default(zkm_owner)
