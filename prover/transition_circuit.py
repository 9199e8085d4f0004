"""The transition circuit: one account's side of a settled batch (or of a liquidation takeover).

Public inputs: :func:`prover.transitions.public_input_names` (``C_old, C_new, D, FD_s, account,
collateral, cashOut, T, index, count, feeBps, feeTotal, fresh``, two order slots
``(O, S_old, S_new)``, then the public delta ``dq_pub[0..n), dc_pub``). The statement and the
attack each constraint stops are in docs/ARCHITECTURE.md ("State transitions"); the integer
reference is :func:`prover.transitions.apply_transition`. In short:

* ``C_old`` opens to ``(q_old, c_old, salt_old)``, or ``C_old = 0`` and the old book is empty;
  ``C_new = sponge(2, [n] ++ q_new ++ [c_new, salt_new])`` with ``|q_new| < 2^64``,
  ``|c_new| < 2^128``; ``D`` and ``FD_s`` are the digests of the epoch data and of ``Fs``;
* every fill slot's fields are in range, its indices below ``count``, buyer != seller; a fill
  whose buyer (seller) is ``index`` is matched to one of the account's used order slots, whose
  opening has ``trader = account``, the fill's instrument and side, and a limit the price does
  not cross; each order's fills add to its filled amount, which stays within its size and whose
  old and new fill states are ``S_old`` (0: never filled) and ``S_new``;
* ``q_new = q_old + fills + dq_pub``; ``c_new = c_old - q_old.(F - Fs) + sells - buys - own fees
  - cashOut + dc_pub``; ``feeTotal`` is both sides' fees of every fill slot;
* ``fresh = 1``: the post-state meets initial margin with ``collateral``; ``fresh = 0``: every
  position only shrank (no flip) and ``cashOut = dq_pub = dc_pub = 0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from prover import gadgets as g
from prover.errors import ProverInputError, UnsatisfiedError
from prover.field import R
from prover.r1cs import LC, ConstraintSystem, Operand, combine
from prover.statement import (
    ACCOUNT_BITS,
    BPS,
    CASH_BITS,
    COLLATERAL_BITS,
    EXCESS_BITS,
    MAX_INSTRUMENTS,
    MAX_SCENARIOS,
    ORDER_FIELD_BITS,
    POSITION_BITS,
    TAG_ACCOUNT,
    TAG_BATCH,
    TAG_EPOCH,
    TAG_FUNDING,
    TAG_ORDER,
    TAG_ORDER_STATE,
    VALUE_BITS,
)
from prover.transitions import (
    CASH_OUT_BITS,
    FEE_BPS_BITS,
    FILL_FIELDS,
    INDEX_BITS,
    ORDER_SLOTS,
    PRICE_BITS,
    SIZE_BITS,
    TransitionRequest,
    apply_transition,
    public_input_names,
)

BPS_BITS = 14  # 10000 < 2^14


def _is_zero(cs: ConstraintSystem, x: Operand, name: str) -> LC:
    """The bit ``[x == 0]`` (two constraints)."""
    lx = LC.of(x)
    inv = cs.signal(name + ".inv", lambda w: pow(lx.evaluate(w), -1, R) if lx.evaluate(w) else 0)
    z = cs.signal(name, lambda w: 0 if lx.evaluate(w) else 1)
    cs.constrain(lx, inv, LC.const(1) - z, name + ".inv")
    cs.constrain(lx, z, 0, name + ".zero")
    return z


def _bit(cs: ConstraintSystem, name: str) -> LC:
    b = cs.private_input(name)
    cs.constrain(b, b, b, name + " is boolean")
    return b


@dataclass(frozen=True)
class TransitionCircuit:
    """The constraint system for ``(n, S, K)`` (K fill slots)."""

    n: int
    s: int
    k: int
    cs: ConstraintSystem

    @property
    def name(self) -> str:
        return f"transition_n{self.n}_s{self.s}_k{self.k}"

    def private_inputs(self, req: TransitionRequest) -> dict[str, int]:
        ep = req.epoch
        if (ep.n, ep.s) != (self.n, self.s):
            raise ProverInputError("epoch", f"has n={ep.n}, S={ep.s}; the circuit is n={self.n}, S={self.s}")
        if req.table.slots != self.k:
            raise ProverInputError("table", f"has {req.table.slots} fill slots; the circuit has K={self.k}")
        n = self.n
        priv: dict[str, int] = {"epoch_id": ep.epoch_id, "im_factor_bps": ep.im_factor_bps,
                                "batch_nonce": req.table.nonce}
        old_q, old_c, old_salt = (req.old.q, req.old.cash, req.old.salt) if req.old is not None else ((0,) * n, 0, 0)
        priv["is_new"] = int(req.old is None)
        priv["c_old"], priv["salt_old"], priv["salt_new"] = old_c, old_salt, req.new_salt
        settled = req.settled if req.settled is not None else (0,) * n
        for i in range(n):
            priv[f"q_old[{i}]"] = old_q[i]
            priv[f"m[{i}]"] = ep.marks[i]
            priv[f"a[{i}]"] = ep.addons[i]
            priv[f"F[{i}]"] = ep.fund[i]
            priv[f"Fs[{i}]"] = settled[i]
            for j in range(self.s):
                priv[f"L[{i}][{j}]"] = ep.scenario_pnl[i][j]
        commits = [o.commitment if o is not None else 0 for o in req.orders]
        for j, slot in enumerate(req.orders):
            fields = slot.order.fields()[1:] if slot is not None else [0] * 7
            for name, v in zip(("instrument", "side", "limit", "size", "expiry", "nonce", "salt"), fields):
                priv[f"order[{j}].{name}"] = v
            priv[f"order[{j}].used"] = int(slot is not None)
            priv[f"order[{j}].filled_before"] = slot.filled_before if slot is not None else 0
            priv[f"order[{j}].r_before"] = slot.r_before if slot is not None else 0
            priv[f"order[{j}].r_after"] = slot.r_after if slot is not None else 0
            priv[f"order[{j}].fresh"] = int(slot is None or (slot.filled_before == 0 and slot.r_before == 0))
        for k, row in enumerate(req.table.rows()):
            for name, v in zip(FILL_FIELDS, row):
                priv[f"fill[{k}].{name}"] = v
            active = row[2] != 0
            buy_mine = active and row[3] == req.index
            sell_mine = active and row[4] == req.index
            priv[f"fill[{k}].buy_slot"] = int(buy_mine and commits[1] == row[5] and commits[0] != row[5])
            priv[f"fill[{k}].sell_slot"] = int(sell_mine and commits[1] == row[6] and commits[0] != row[6])
            fee = -((-row[1] * row[2] * req.fee_bps) // BPS)
            priv[f"fill[{k}].fee"] = fee
        return priv

    def witness(self, req: TransitionRequest, check: bool = True) -> tuple[list[int], list[int]]:
        """``(witness, public inputs)``; raises :class:`UnsatisfiedError` if the transition is invalid."""
        result = apply_transition(req)
        w = self.cs.witness(result.public, self.private_inputs(req), check=check)
        return w, result.public


def _build(n: int, s: int, k_slots: int) -> TransitionCircuit:
    cs = ConstraintSystem()
    names = public_input_names(n)
    pub = {name: cs.public(name) for name in names}
    c_old_pub, c_new_pub = pub["commitment_old"], pub["commitment_new"]
    account, b, cash_out = pub["account"], pub["collateral"], pub["cash_out"]
    index, count, fee_bps, fee_total_pub, fresh = pub["index"], pub["count"], pub["fee_bps"], pub["fee_total"], pub["fresh"]
    dq_pub = [pub[f"dq_pub[{i}]"] for i in range(n)]
    dc_pub = pub["dc_pub"]

    # ---- private inputs
    is_new = _bit(cs, "is_new")
    q_old = [cs.private_input(f"q_old[{i}]") for i in range(n)]
    c_old, salt_old, salt_new = (cs.private_input(x) for x in ("c_old", "salt_old", "salt_new"))
    epoch_id, f_im = cs.private_input("epoch_id"), cs.private_input("im_factor_bps")
    m = [cs.private_input(f"m[{i}]") for i in range(n)]
    lmat = [[cs.private_input(f"L[{i}][{j}]") for j in range(s)] for i in range(n)]
    a = [cs.private_input(f"a[{i}]") for i in range(n)]
    fund = [cs.private_input(f"F[{i}]") for i in range(n)]
    settled = [cs.private_input(f"Fs[{i}]") for i in range(n)]

    # ---- public ranges and bindings
    g.range_unsigned(cs, b, COLLATERAL_BITS, "collateral.range")
    g.range_unsigned(cs, account, ACCOUNT_BITS, "account.range")
    g.range_signed(cs, cash_out, CASH_OUT_BITS, "cash_out.range")
    g.range_signed(cs, dc_pub, CASH_OUT_BITS, "dc_pub.range")
    g.range_unsigned(cs, fee_bps, FEE_BPS_BITS, "fee_bps.range")
    g.range_unsigned(cs, LC.of(count) - 1, INDEX_BITS, "count >= 1")
    g.range_unsigned(cs, index, INDEX_BITS, "index.range")
    g.range_unsigned(cs, LC.of(count) - 1 - index, INDEX_BITS, "index < count")
    cs.constrain(fresh, fresh, fresh, "fresh is boolean")

    # ---- the old state: C_old opens to it, or C_old = 0 and the book is empty
    signs_old = [g.range_signed(cs, q_old[i], POSITION_BITS, f"q_old[{i}].range") for i in range(n)]
    g.range_signed(cs, c_old, CASH_BITS, "c_old.range")
    c_calc = g.sponge(cs, TAG_ACCOUNT, [LC.const(n), *q_old, c_old, salt_old], "commitment_old")
    not_new = LC.const(1) - is_new
    cs.constrain(not_new, c_calc - c_old_pub, 0, "C_old opens to the old state")
    cs.constrain(is_new, c_old_pub, 0, "a new account has C_old = 0")
    for i in range(n):
        cs.constrain(is_new, q_old[i], 0, f"a new account holds nothing ({i})")
    cs.constrain(is_new, c_old, 0, "a new account has no cash")

    # ---- the epoch and the settled funding
    flat = [x for row in lmat for x in row]
    d_calc = g.sponge(cs, TAG_EPOCH, [LC.const(n), LC.const(s), epoch_id, f_im, *m, *flat, *a, *fund], "digest")
    cs.assert_equal(d_calc, pub["digest"], "digest matches D")
    fd_calc = g.sponge(cs, TAG_FUNDING, [LC.const(n), *settled], "funding digest")
    cs.assert_equal(fd_calc, pub["funding_settled"], "settled funding digest matches FD_s")
    owed = combine([1] * n, [cs.mul(q_old[i], fund[i] - settled[i], f"q_old[{i}]*(F-Fs)") for i in range(n)])

    # ---- the account's order slots
    slot_commit, slot_used, slot_inst, slot_side, slot_limit, slot_size = [], [], [], [], [], []
    slot_filled_before = []
    for j in range(ORDER_SLOTS):
        used = _bit(cs, f"order[{j}].used")
        inst = cs.private_input(f"order[{j}].instrument")
        side = _bit(cs, f"order[{j}].side")
        limit = cs.private_input(f"order[{j}].limit")
        size = cs.private_input(f"order[{j}].size")
        expiry = cs.private_input(f"order[{j}].expiry")
        nonce = cs.private_input(f"order[{j}].nonce")
        osalt = cs.private_input(f"order[{j}].salt")
        g.range_unsigned(cs, limit, PRICE_BITS, f"order[{j}].limit.range")
        g.range_unsigned(cs, size, SIZE_BITS, f"order[{j}].size.range")
        g.range_unsigned(cs, expiry, ORDER_FIELD_BITS, f"order[{j}].expiry.range")
        g.range_unsigned(cs, nonce, ORDER_FIELD_BITS, f"order[{j}].nonce.range")
        o_calc = g.sponge(cs, TAG_ORDER, [account, inst, side, limit, size, expiry, nonce, osalt], f"order[{j}]")
        o_pub = pub[f"order[{j}]"]
        cs.constrain(used, o_calc - o_pub, 0, f"order[{j}] opens to an order of this account")
        cs.constrain(LC.const(1) - used, o_pub, 0, f"an unused order[{j}] is 0")
        slot_commit.append(o_pub)
        slot_used.append(used)
        slot_inst.append(inst)
        slot_side.append(side)
        slot_limit.append(limit)
        slot_size.append(size)
        slot_filled_before.append(cs.private_input(f"order[{j}].filled_before"))

    # ---- the fill table and this account's fills
    fills = [[cs.private_input(f"fill[{k}].{name}") for name in FILL_FIELDS] for k in range(k_slots)]
    batch_nonce = cs.private_input("batch_nonce")
    t_calc = g.sponge(cs, TAG_BATCH, [LC.const(k_slots), batch_nonce, *[x for row in fills for x in row]], "fill table")
    cs.assert_equal(t_calc, pub["fill_table"], "fill table matches T")
    dq = [LC.const(0) for _ in range(n)]
    flow: LC = LC.const(0)
    own_fees: LC = LC.const(0)
    fee_sum: LC = LC.const(0)
    added = [LC.const(0) for _ in range(ORDER_SLOTS)]
    for k, (inst, price, size, bi, si, bo, so) in enumerate(fills):
        tag = f"fill[{k}]"
        g.range_unsigned(cs, price, PRICE_BITS, tag + ".price.range")
        g.range_unsigned(cs, size, SIZE_BITS, tag + ".size.range")
        g.range_unsigned(cs, bi, INDEX_BITS, tag + ".buy_index.range")
        g.range_unsigned(cs, si, INDEX_BITS, tag + ".sell_index.range")
        g.range_unsigned(cs, LC.of(count) - 1 - bi, INDEX_BITS, tag + ".buy_index < count")
        g.range_unsigned(cs, LC.of(count) - 1 - si, INDEX_BITS, tag + ".sell_index < count")
        active = LC.const(1) - _is_zero(cs, size, tag + ".empty")
        same = _is_zero(cs, LC.of(bi) - si, tag + ".same_party")
        cs.constrain(active, same, 0, tag + ": buyer != seller")
        onehot = [_is_zero(cs, LC.of(inst) - i, f"{tag}.is_instrument[{i}]") for i in range(n)]
        cs.constrain(active, combine([1] * n, onehot) - 1, 0, tag + ": the instrument is listed")
        is_b = cs.mul(active, _is_zero(cs, LC.of(bi) - index, tag + ".buyer_is_me"), tag + ".mine_buy")
        is_s = cs.mul(active, _is_zero(cs, LC.of(si) - index, tag + ".seller_is_me"), tag + ".mine_sell")
        # the fee of each side: fee * 10000 - price * size * feeBps in [0, 10000)
        ps = cs.mul(price, size, tag + ".notional")
        fee = cs.private_input(tag + ".fee")
        rest = fee * BPS - cs.mul(ps, fee_bps, tag + ".notional*feeBps")
        g.range_unsigned(cs, rest, BPS_BITS, tag + ".fee >= notional*feeBps/10000")
        g.range_unsigned(cs, LC.const(BPS - 1) - rest, BPS_BITS, tag + ".fee = ceil(notional*feeBps/10000)")
        fee_sum = fee_sum + fee * 2
        for mine, order_field, slot_bit_name, side_value in ((is_b, bo, "buy_slot", 0), (is_s, so, "sell_slot", 1)):
            sb = _bit(cs, f"{tag}.{slot_bit_name}")
            label = f"{tag}.{slot_bit_name}"

            def pick(xs: list[LC], what: str, sb: LC = sb, label: str = label) -> LC:
                return xs[0] + cs.mul(sb, LC.of(xs[1]) - xs[0], f"{label}.{what}")

            cs.constrain(mine, LC.of(order_field) - pick(slot_commit, "order"), 0, label + ": the account's own order")
            cs.constrain(mine, pick(slot_used, "used") - 1, 0, label + ": a used order slot")
            cs.constrain(mine, LC.of(inst) - pick(slot_inst, "instrument"), 0, label + ": the order's instrument")
            cs.constrain(mine, pick(slot_side, "side") - side_value, 0, label + ": the order's side")
            limit = pick(slot_limit, "limit")
            ok = g.geq(cs, limit, price, PRICE_BITS, label + ".limit") if side_value == 0 else g.geq(
                cs, price, limit, PRICE_BITS, label + ".limit")
            cs.constrain(mine, LC.const(1) - ok, 0, label + ": the price respects the limit")
            mine_size = cs.mul(mine, size, label + ".size")
            to_second = cs.mul(sb, mine_size, label + ".to_slot1")
            added[1] = added[1] + to_second
            added[0] = added[0] + mine_size - to_second
            sign = 1 if side_value == 0 else -1
            for i in range(n):
                dq[i] = dq[i] + cs.mul(onehot[i], mine_size, f"{label}.dq[{i}]") * sign
            flow = flow - cs.mul(mine, ps, label + ".cash") * sign
            own_fees = own_fees + cs.mul(mine, fee, label + ".fee")
    cs.assert_equal(fee_sum, fee_total_pub, "feeTotal is both sides' fees of every fill")

    # ---- order fill states and sizes
    for j in range(ORDER_SLOTS):
        filled_before = slot_filled_before[j]
        r_before, r_after = cs.private_input(f"order[{j}].r_before"), cs.private_input(f"order[{j}].r_after")
        fresh_order = _bit(cs, f"order[{j}].fresh")
        g.range_unsigned(cs, filled_before, SIZE_BITS, f"order[{j}].filled_before.range")
        filled_after = LC.of(filled_before) + added[j]
        g.range_unsigned(cs, LC.of(slot_size[j]) - filled_after, SIZE_BITS + 1, f"order[{j}] fills within its size")
        s_old_calc = g.sponge(cs, TAG_ORDER_STATE, [slot_commit[j], filled_before, r_before], f"order[{j}].state_old")
        s_new_calc = g.sponge(cs, TAG_ORDER_STATE, [slot_commit[j], filled_after, r_after], f"order[{j}].state_new")
        s_old, s_new = pub[f"order_state_old[{j}]"], pub[f"order_state_new[{j}]"]
        used = slot_used[j]
        stale = cs.mul(used, LC.const(1) - fresh_order, f"order[{j}].refilled")
        cs.constrain(stale, s_old_calc - s_old, 0, f"order[{j}]: S_old is its fill state")
        cs.constrain(fresh_order, s_old, 0, f"order[{j}]: a never-filled order has S_old = 0")
        cs.constrain(fresh_order, filled_before, 0, f"order[{j}]: a never-filled order has filled nothing")
        cs.constrain(used, s_new_calc - s_new, 0, f"order[{j}]: S_new is its new fill state")
        cs.constrain(LC.const(1) - used, s_new, 0, f"order[{j}]: an unused slot has S_new = 0")
        cs.constrain(LC.const(1) - used, s_old, 0, f"order[{j}]: an unused slot has S_old = 0")

    # ---- the new state
    q_new = [q_old[i] + dq[i] + dq_pub[i] for i in range(n)]
    c_new = LC.of(c_old) - owed + flow - own_fees - cash_out + dc_pub
    signs_new = [g.range_signed(cs, q_new[i], POSITION_BITS, f"q_new[{i}].range") for i in range(n)]
    g.range_signed(cs, c_new, CASH_BITS, "c_new.range")
    c_new_calc = g.sponge(cs, TAG_ACCOUNT, [LC.const(n), *q_new, c_new, salt_new], "commitment_new")
    cs.assert_equal(c_new_calc, c_new_pub, "C_new is the new state")

    # ---- fresh = 1: initial margin holds; fresh = 0: positions only shrank, no cash out, no delta
    qm = [cs.mul(q_new[i], m[i], f"q_new[{i}]*m[{i}]") for i in range(n)]
    equity = combine([1] * (n + 2), [b, c_new, *qm])
    worst: LC = LC.const(0)
    for j in range(s):
        loss = combine([-1] * n, [cs.mul(q_new[i], lmat[i][j], f"q_new[{i}]*L[{i}][{j}]") for i in range(n)])
        worst = g.max_(cs, loss, worst, VALUE_BITS, f"worst[{j}]")
    absq_new = [g.abs_(cs, q_new[i], signs_new[i], f"|q_new[{i}]|") for i in range(n)]
    addon = combine([1] * n, [cs.mul(absq_new[i], a[i], f"|q_new[{i}]|*a[{i}]") for i in range(n)])
    excess = equity * BPS - cs.mul(worst + addon, f_im, "requirement*f")
    g.range_unsigned(cs, cs.mul(fresh, excess, "fresh*excess"), EXCESS_BITS, "fresh: IM excess >= 0")
    reducing = LC.const(1) - fresh
    absq_old = [g.abs_(cs, q_old[i], signs_old[i], f"|q_old[{i}]|") for i in range(n)]
    for i in range(n):
        g.range_unsigned(cs, cs.mul(reducing, absq_old[i] - absq_new[i], f"reduce[{i}]"), POSITION_BITS + 1,
                         f"not fresh: |q_new[{i}]| <= |q_old[{i}]|")
        flip = cs.mul(q_new[i], LC.of(signs_new[i]) - signs_old[i], f"flip[{i}]")
        cs.constrain(reducing, flip, 0, f"not fresh: q[{i}] keeps its sign")
        cs.constrain(reducing, dq_pub[i], 0, f"not fresh: no public delta ({i})")
    cs.constrain(reducing, cash_out, 0, "not fresh: no cash out")
    cs.constrain(reducing, dc_pub, 0, "not fresh: no public cash delta")
    return TransitionCircuit(n, s, k_slots, cs)


@lru_cache(maxsize=4)
def transition_circuit(n: int, s: int, k: int) -> TransitionCircuit:
    """The (cached) transition circuit for ``n`` instruments, ``s`` scenarios and ``k`` fill slots."""
    if not 1 <= n <= MAX_INSTRUMENTS:
        raise ProverInputError("n", f"must be in 1..{MAX_INSTRUMENTS}, got {n}")
    if not 1 <= s <= MAX_SCENARIOS:
        raise ProverInputError("S", f"must be in 1..{MAX_SCENARIOS}, got {s}")
    if not 1 <= k <= 1 << 10:
        raise ProverInputError("K", f"must be in 1..1024, got {k}")
    return _build(n, s, k)


__all__ = ["TransitionCircuit", "UnsatisfiedError", "transition_circuit"]
