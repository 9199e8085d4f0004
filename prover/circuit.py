"""The margin solvency circuit for ``n`` instruments and ``S`` scenarios.

Public inputs ``[C, D, kind, account, collateral, FD_s]``; private inputs ``q[i]``, ``cash``,
``salt``, the epoch data ``epoch_id``, ``im_factor_bps``, ``m[i]``, ``L[i][s]``, ``a[i]``,
``F[i]`` and the settled funding index ``Fs[i]``.
Constraints (see docs/ARCHITECTURE.md and docs/prover.md):

* ``|q_i| < 2^64`` and ``|cash| < 2^128`` (strict signed range checks, giving the signs),
  ``0 <= collateral < 2^128``, ``0 <= account < 2^160`` and ``account^2`` (the binding),
  ``kind in {0, 1, 2}``;
* ``C = sponge(2, [n] ++ q ++ [cash, salt])``,
  ``D = sponge(1, [n, S, epoch_id, f] ++ m ++ L ++ a ++ F)`` (the epoch data is bounded by the
  on-chain ``RiskEpochs`` posting, so it needs no range checks here) and
  ``FD_s = sponge(4, [n] ++ Fs)`` (a digest the chain stored when it was an epoch's, so bounded too);
* ``equity = b + c + sum q_i m_i - sum q_i (F_i - Fs_i)`` (unsettled funding counts);
  ``loss_s = -sum_i q_i L[i][s]``;
  ``worst = max(0, loss_0, ..., loss_{S-1})`` by comparisons on 138-bit operands;
  ``requirement = worst + sum |q_i| a_i``;
* ``excess = equity * (1 + is_im * 9999) - requirement * (1 + is_im * (f - 1))`` and
  ``target = excess`` (kinds 0, 1) or ``-excess - 1`` (kind 2) is range-checked to
  ``[0, 2^155)``: all magnitudes stay below 2^155 << r, so nothing wraps around r.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from prover import gadgets as g
from prover.errors import ProverInputError, UnsatisfiedError
from prover.field import R
from prover.r1cs import LC, ConstraintSystem, combine
from prover.statement import (
    ACCOUNT_BITS,
    BPS,
    CASH_BITS,
    COLLATERAL_BITS,
    EXCESS_BITS,
    MAX_INSTRUMENTS,
    MAX_SCENARIOS,
    POSITION_BITS,
    PUBLIC_INPUT_NAMES,
    TAG_ACCOUNT,
    TAG_EPOCH,
    TAG_FUNDING,
    VALUE_BITS,
    Account,
    Epoch,
    check_funding,
    funding_digest,
    public_inputs,
)

INV2 = pow(2, -1, R)


@dataclass(frozen=True)
class MarginCircuit:
    """The constraint system for one ``(n, S)`` and the names of its private inputs."""

    n: int
    s: int
    cs: ConstraintSystem

    @property
    def name(self) -> str:
        return f"margin_n{self.n}_s{self.s}"

    def private_inputs(self, epoch: Epoch, account: Account, settled: Sequence[int] | None = None) -> dict[str, int]:
        _check_sizes(self.n, self.s, epoch, account)
        fs = epoch.fund if settled is None else check_funding(settled, self.n, "settled")
        priv = {"cash": account.cash, "salt": account.salt, "epoch_id": epoch.epoch_id, "im_factor_bps": epoch.im_factor_bps}
        for i in range(self.n):
            priv[f"q[{i}]"] = account.q[i]
            priv[f"m[{i}]"] = epoch.marks[i]
            priv[f"a[{i}]"] = epoch.addons[i]
            priv[f"F[{i}]"] = epoch.fund[i]
            priv[f"Fs[{i}]"] = fs[i]
            for j in range(self.s):
                priv[f"L[{i}][{j}]"] = epoch.scenario_pnl[i][j]
        return priv

    def public_inputs(
        self, epoch: Epoch, account: Account, kind: int, address: int, collateral: int,
        settled: Sequence[int] | None = None,
    ) -> list[int]:
        fd = epoch.funding_digest() if settled is None else funding_digest(settled)
        return public_inputs(account.commitment(), epoch.digest(), kind, address, collateral, fd)

    def witness(
        self,
        epoch: Epoch,
        account: Account,
        kind: int,
        address: int,
        collateral: int,
        check: bool = True,
        settled: Sequence[int] | None = None,
    ) -> list[int]:
        """The full witness; raises :class:`UnsatisfiedError` if the statement does not hold.
        ``settled`` is the funding index the account last settled at (default: the epoch's)."""
        pub = check_statement(self.n, self.s, epoch, account, kind, address, collateral, check=check, settled=settled)
        return self.cs.witness(pub, self.private_inputs(epoch, account, settled), check=check)


def _check_sizes(n: int, s: int, epoch: Epoch, account: Account) -> None:
    if epoch.n != n or epoch.s != s:
        raise ProverInputError("epoch", f"has n={epoch.n}, S={epoch.s}; the circuit is n={n}, S={s}")
    if len(account.q) != n:
        raise ProverInputError("q", f"has {len(account.q)} positions, the circuit has n={n}")


def check_statement(
    n: int, s: int, epoch: Epoch, account: Account, kind: int, address: int, collateral: int, check: bool = True,
    settled: Sequence[int] | None = None,
) -> list[int]:
    """Validate a statement for the ``(n, S)`` circuit without building it: the sizes, every
    bound, and (``check``) that the statement holds (raises :class:`UnsatisfiedError` naming the
    excess). ``settled`` is the funding index the account last settled at (default: the
    epoch's). Returns the public inputs ``[C, D, kind, account, collateral, FD_s]``."""
    _check_sizes(n, s, epoch, account)
    fd = epoch.funding_digest() if settled is None else funding_digest(check_funding(settled, n, "settled"))
    pub = public_inputs(account.commitment(), epoch.digest(), kind, address, collateral, fd)
    if check:
        fig = epoch.figures(kind, account.q, account.cash, collateral, settled)
        if not fig.holds:
            what = "not insolvent" if kind == 2 else "not solvent"
            raise UnsatisfiedError(
                "account", f"{what} for kind {kind}: excess {fig.excess} (equity {fig.equity}, requirement {fig.requirement})"
            )
    return pub


def _build(n: int, s: int) -> MarginCircuit:
    cs = ConstraintSystem()
    pub = {name: cs.public(name) for name in PUBLIC_INPUT_NAMES}
    c_pub, d_pub, kind, account, b, fd_pub = (pub[k] for k in PUBLIC_INPUT_NAMES)
    q = [cs.private_input(f"q[{i}]") for i in range(n)]
    cash = cs.private_input("cash")
    salt = cs.private_input("salt")
    epoch_id = cs.private_input("epoch_id")
    f = cs.private_input("im_factor_bps")
    m = [cs.private_input(f"m[{i}]") for i in range(n)]
    lmat = [[cs.private_input(f"L[{i}][{j}]") for j in range(s)] for i in range(n)]
    a = [cs.private_input(f"a[{i}]") for i in range(n)]
    fund = [cs.private_input(f"F[{i}]") for i in range(n)]
    settled = [cs.private_input(f"Fs[{i}]") for i in range(n)]

    # ranges of the private account values and public inputs
    signs = [g.range_signed(cs, q[i], POSITION_BITS, f"q[{i}].range") for i in range(n)]
    g.range_signed(cs, cash, CASH_BITS, "cash.range")
    g.range_unsigned(cs, b, COLLATERAL_BITS, "collateral.range")
    g.range_unsigned(cs, account, ACCOUNT_BITS, "account.range")
    cs.mul(account, account, "account.binding")
    # kind in {0, 1, 2}: t = kind*(kind-1); t*(kind-2) = 0; is_im = kind*(2-kind); is_ins = t/2
    t = cs.mul(kind, kind - 1, "kind.t")
    cs.constrain(t, kind - 2, 0, "kind in {0,1,2}")
    is_im = cs.mul(kind, 2 - kind, "kind.is_im")
    is_ins = t * INV2

    # commitment and digest
    c_calc = g.sponge(cs, TAG_ACCOUNT, [LC.const(n), *q, cash, salt], "commitment")
    cs.assert_equal(c_calc, c_pub, "commitment matches C")
    flat = [x for row in lmat for x in row]
    d_calc = g.sponge(cs, TAG_EPOCH, [LC.const(n), LC.const(s), epoch_id, f, *m, *flat, *a, *fund], "digest")
    cs.assert_equal(d_calc, d_pub, "digest matches D")
    fd_calc = g.sponge(cs, TAG_FUNDING, [LC.const(n), *settled], "funding digest")
    cs.assert_equal(fd_calc, fd_pub, "settled funding digest matches FD_s")

    # equity (with the unsettled funding), losses, requirement
    qm = [cs.mul(q[i], m[i], f"q[{i}]*m[{i}]") for i in range(n)]
    owed = [cs.mul(q[i], fund[i] - settled[i], f"q[{i}]*(F-Fs)[{i}]") for i in range(n)]
    equity = combine([1] * (n + 2), [b, cash, *qm]) - combine([1] * n, owed)
    worst: LC = LC.const(0)
    for j in range(s):
        prods = [cs.mul(q[i], lmat[i][j], f"q[{i}]*L[{i}][{j}]") for i in range(n)]
        loss = combine([-1] * n, prods)
        worst = g.max_(cs, loss, worst, VALUE_BITS, f"worst[{j}]")
    absq = [g.abs_(cs, q[i], signs[i], f"|q[{i}]|") for i in range(n)]
    addon = combine([1] * n, [cs.mul(absq[i], a[i], f"|q[{i}]|*a[{i}]") for i in range(n)])
    requirement = worst + addon

    # excess by kind, then the final range check
    eq_scaled = cs.mul(equity, is_im * (BPS - 1) + 1, "equity scaled")
    im_f = cs.mul(is_im, f - 1, "is_im*(f-1)")
    req_scaled = cs.mul(requirement, im_f + 1, "requirement scaled")
    excess = eq_scaled - req_scaled
    flip = cs.mul(is_ins, excess * (-2) - 1, "insolvency flip")
    g.range_unsigned(cs, excess + flip, EXCESS_BITS, "excess >= 0 (kind 0/1) or excess < 0 (kind 2)")
    return MarginCircuit(n, s, cs)


@lru_cache(maxsize=8)
def margin_circuit(n: int, s: int) -> MarginCircuit:
    """The (cached) margin circuit for ``n`` instruments and ``s`` scenarios."""
    if not 1 <= n <= MAX_INSTRUMENTS:
        raise ProverInputError("n", f"must be in 1..{MAX_INSTRUMENTS}, got {n}")
    if not 1 <= s <= MAX_SCENARIOS:
        raise ProverInputError("S", f"must be in 1..{MAX_SCENARIOS}, got {s}")
    return _build(n, s)
