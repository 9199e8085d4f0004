"""The integer solvency statement: hand-computed examples, bounds and encodings."""

from __future__ import annotations

import pytest

from prover.errors import ProverInputError
from prover.field import R
from prover.poseidon import poseidon, sponge
from prover.statement import (
    KIND_IM,
    KIND_INSOLVENCY,
    KIND_MM,
    check_solvency,
    commitment,
    epoch_digest,
    public_inputs,
    solvency_figures,
)

# Two instruments, two scenarios (hand computation in the comments).
EX = {"marks": [50, 20], "scenario_pnl": [[1, -5], [3, 4]], "addons": [2, 3], "im_factor_bps": 15000}
# q = [1, -2]: sum q m = 50 - 40 = 10; loss_0 = -(1*1 + -2*3) = 5; loss_1 = -(1*-5 + -2*4) = 13
# worst = 13; addon = 1*2 + 2*3 = 8; requirement = 21


def test_hand_computed_figures() -> None:
    f = solvency_figures(KIND_MM, q=[1, -2], cash=-100, collateral=111, **EX)
    assert (f.equity, f.losses, f.worst_loss, f.addon, f.requirement) == (21, (5, 13), 13, 8, 21)
    assert f.excess == 0 and f.holds  # exactly at the threshold
    assert not check_solvency(KIND_MM, q=[1, -2], cash=-101, collateral=111, **EX)
    assert check_solvency(KIND_INSOLVENCY, q=[1, -2], cash=-101, collateral=111, **EX)
    assert not check_solvency(KIND_INSOLVENCY, q=[1, -2], cash=-100, collateral=111, **EX)
    # IM: equity * 10000 >= 21 * 15000 <=> equity >= 31.5
    assert not check_solvency(KIND_IM, q=[1, -2], cash=-100 + 10, collateral=111, **EX)  # 31
    assert check_solvency(KIND_IM, q=[1, -2], cash=-100 + 11, collateral=111, **EX)  # 32


def test_worst_loss_is_floored_at_zero() -> None:
    f = solvency_figures(KIND_MM, q=[0, 0], cash=0, collateral=0, **EX)
    assert f.worst_loss == 0 and f.requirement == 0 and f.holds


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"q": [2**64, 0]}, "q[0]"),
        ({"q": [0, -(2**64)]}, "q[1]"),
        ({"cash": 2**128}, "cash"),
        ({"collateral": -1}, "collateral"),
        ({"collateral": 2**128}, "collateral"),
        ({"q": [1]}, "q"),
        ({"marks": [2**64, 0]}, "marks[0]"),
        ({"addons": [-1, 0]}, "addons[0]"),
        ({"im_factor_bps": 9999}, "im_factor_bps"),
        ({"scenario_pnl": [[1], [1, 2]]}, "scenario_pnl[1]"),
    ],
)
def test_bounds_name_the_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = dict(q=[1, -2], cash=0, collateral=0, **EX)
    args.update(kwargs)
    with pytest.raises(ProverInputError) as exc:
        check_solvency(KIND_MM, **args)  # type: ignore[arg-type]
    assert exc.value.field == field


def test_kind_is_validated() -> None:
    with pytest.raises(ProverInputError, match="kind"):
        check_solvency(3, q=[1, -2], cash=0, collateral=0, **EX)


def test_commitment_and_digest_layout() -> None:
    assert commitment([1, -2], 5, 7) == sponge(2, [2, 1, R - 2, 5, 7])
    d = epoch_digest(9, 15000, [50, 20], [[1, -5], [3, 4]], [2, 3])
    h1 = poseidon([1, 2, 2, 9, 15000, 50, 20, 1, R - 5, 3, 4, 2, 3, 0, 0, 0])
    assert d == h1
    with pytest.raises(ProverInputError, match="salt"):
        commitment([1], 0, R)


def test_public_inputs_order_and_checks() -> None:
    assert public_inputs(11, 22, 1, 0xABC, 5, 33) == [11, 22, 1, 0xABC, 5, 33]
    with pytest.raises(ProverInputError, match="account"):
        public_inputs(1, 2, 0, 2**160, 0, 0)
    with pytest.raises(ProverInputError, match="commitment"):
        public_inputs(R, 2, 0, 0, 0, 0)
