"""The transition statement of docs/ARCHITECTURE.md ("State transitions") in plain integers.

Every change of an account's commitment is a proven transition ``C_old -> C_new``: positions
change only by fills the account's trader signed (or by a liquidation takeover's public
delta), cash only by those fills, their fees, funding and the public ``cashOut``. This module
is the reference the transition circuit (:mod:`prover.transition_circuit`) is tested against:
:func:`apply_transition` computes the new state and the public inputs of one account's proof,
or raises :class:`~prover.errors.UnsatisfiedError` naming the rule a transition breaks.

Formats (normative):

* order ``O = sponge(3, [trader, instrument, side, limitPrice, size, expiry, nonce, salt])``
  (``side`` 0 buy, 1 sell; price in collateral base units per lot, size in lots);
* order fill state ``S = sponge(6, [O, filled, r])``; 0 for an order never filled;
* fill ``[instrument, price, size, buyIndex, sellIndex, buyOrder, sellOrder]``; the fill table
  ``T = sponge(5, [K, nonce] ++ fill_0 ++ ... ++ fill_{K-1})`` with ``K`` slots (unused ones all
  zero) and the operator's batch nonce (a field element; two batches never share ``T``);
* fee of each side of a fill: ``ceil(price * size * feeBps / 10000)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prover.errors import ProverInputError, UnsatisfiedError
from prover.field import R
from prover.poseidon import sponge
from prover.statement import (
    ACCOUNT_BITS,
    BPS,
    CASH_BITS,
    COLLATERAL_BITS,
    KIND_IM,
    ORDER_FIELD_BITS,
    POSITION_BITS,
    TAG_BATCH,
    TAG_ORDER,
    TAG_ORDER_STATE,
    Account,
    Epoch,
    Figures,
    check_funding,
    funding_digest,
)

SIDE_BUY, SIDE_SELL = 0, 1
#: prices (collateral base units per lot) and sizes (lots) of orders and fills: < 2^64
PRICE_BITS = 64
SIZE_BITS = 64
#: account indices within a batch, and the batch's account count: < 2^16
INDEX_BITS = 16
#: the fee rate: < 2^16 bps
FEE_BPS_BITS = 16
#: |cashOut| and |dc_pub| < 2^128, like the committed cash
CASH_OUT_BITS = CASH_BITS
#: order slots per account and batch
ORDER_SLOTS = 2
#: fill slots of the default transition circuit
DEFAULT_FILL_SLOTS = 16
FILL_FIELDS = ("instrument", "price", "size", "buy_index", "sell_index", "buy_order", "sell_order")


def _int(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProverInputError(field, f"must be an integer, got {type(value).__name__}")
    return value


def _unsigned(field: str, value: object, bits: int, low: int = 0) -> int:
    v = _int(field, value)
    if not low <= v < (1 << bits):
        raise ProverInputError(field, f"{v} must be in [{low}, 2^{bits})")
    return v


def _signed(field: str, value: object, bits: int) -> int:
    v = _int(field, value)
    if not -(1 << bits) < v < (1 << bits):
        raise ProverInputError(field, f"|{v}| must be < 2^{bits}")
    return v


def _field(field: str, value: object) -> int:
    v = _unsigned(field, value, 254)
    if v >= R:
        raise ProverInputError(field, "must be < r")
    return v


@dataclass(frozen=True)
class Order:
    """The opening of an order commitment (what the trader signs is its commitment)."""

    trader: int
    instrument: int
    side: int
    limit_price: int
    size: int
    expiry: int
    nonce: int
    salt: int

    def __post_init__(self) -> None:
        _unsigned("order.trader", self.trader, ACCOUNT_BITS)
        _unsigned("order.instrument", self.instrument, 8)
        if self.side not in (SIDE_BUY, SIDE_SELL):
            raise ProverInputError("order.side", f"must be 0 (buy) or 1 (sell), got {self.side}")
        _unsigned("order.limit_price", self.limit_price, PRICE_BITS)
        _unsigned("order.size", self.size, SIZE_BITS, low=1)
        _unsigned("order.expiry", self.expiry, ORDER_FIELD_BITS)
        _unsigned("order.nonce", self.nonce, ORDER_FIELD_BITS)
        _field("order.salt", self.salt)

    def fields(self) -> list[int]:
        return [self.trader, self.instrument, self.side, self.limit_price, self.size, self.expiry, self.nonce, self.salt]

    def commitment(self) -> int:
        return sponge(TAG_ORDER, self.fields())


def order_state(order_commitment: int, filled: int, r: int) -> int:
    """``S = sponge(6, [O, filled, r])``; the state of an order never filled is 0."""
    return sponge(TAG_ORDER_STATE, [order_commitment, filled, r])


@dataclass(frozen=True)
class Fill:
    """One matched trade of a batch (its counterparties by their index in the batch)."""

    instrument: int
    price: int
    size: int
    buy_index: int
    sell_index: int
    buy_order: int
    sell_order: int

    def __post_init__(self) -> None:
        _unsigned("fill.instrument", self.instrument, 8)
        _unsigned("fill.price", self.price, PRICE_BITS)
        _unsigned("fill.size", self.size, SIZE_BITS, low=1)
        _unsigned("fill.buy_index", self.buy_index, INDEX_BITS)
        _unsigned("fill.sell_index", self.sell_index, INDEX_BITS)
        _field("fill.buy_order", self.buy_order)
        _field("fill.sell_order", self.sell_order)
        if self.buy_index == self.sell_index:
            raise ProverInputError("fill", "buyer and seller are the same account")

    def fields(self) -> list[int]:
        return [self.instrument, self.price, self.size, self.buy_index, self.sell_index, self.buy_order, self.sell_order]


@dataclass(frozen=True)
class FillTable:
    """The fills of one batch in ``slots`` fixed slots (``T`` hashes all of them)."""

    fills: tuple[Fill, ...]
    slots: int = DEFAULT_FILL_SLOTS
    nonce: int = 0  # the operator's batch nonce: two batches never share a T (replay protection)

    def __post_init__(self) -> None:
        if not 1 <= self.slots <= 1 << 10:
            raise ProverInputError("slots", f"must be in [1, 1024], got {self.slots}")
        _field("table.nonce", self.nonce)
        if len(self.fills) > self.slots:
            raise ProverInputError("fills", f"{len(self.fills)} fills do not fit the table's {self.slots} slots")

    def rows(self) -> list[list[int]]:
        """Every slot's 7 fields (unused slots all zero)."""
        rows = [f.fields() for f in self.fills]
        return rows + [[0] * len(FILL_FIELDS)] * (self.slots - len(rows))

    def digest(self) -> int:
        """``T = sponge(5, [K, nonce] ++ fills)``."""
        return sponge(TAG_BATCH, [self.slots, self.nonce, *[x for row in self.rows() for x in row]])


def fee_of(price: int, size: int, fee_bps: int) -> int:
    """The fee of one side of a fill: ``ceil(price * size * feeBps / 10000)``."""
    return -((-price * size * fee_bps) // BPS)


def batch_fee_total(table: FillTable, fee_bps: int) -> int:
    """Both sides' fees of every fill of the batch."""
    return sum(2 * fee_of(f.price, f.size, fee_bps) for f in table.fills)


@dataclass(frozen=True)
class OrderSlot:
    """An order of the account in this batch: its opening, how much of it was filled before
    (with the salt of that state; ``filled_before = r_before = 0`` for an order never filled),
    and the salt of its new state."""

    order: Order
    filled_before: int = 0
    r_before: int = 0
    r_after: int = 1

    @property
    def commitment(self) -> int:
        return self.order.commitment()

    @property
    def state_before(self) -> int:
        if self.filled_before == 0 and self.r_before == 0:
            return 0
        return order_state(self.commitment, self.filled_before, self.r_before)


@dataclass(frozen=True)
class TransitionRequest:
    """One account's side of a batch (or of a liquidation takeover): everything its proof needs."""

    epoch: Epoch
    address: int
    old: Account | None  # None: a new account (C_old = 0, the empty book)
    new_salt: int
    collateral: int  # the public balance the post-state is margined with
    table: FillTable
    index: int
    count: int
    fee_bps: int
    settled: tuple[int, ...] | None = None  # the funding index the account last settled at (None: zeros)
    cash_out: int = 0  # private cash moved to the public balance (negative: the other way)
    orders: tuple[OrderSlot | None, ...] = (None, None)
    public_delta: tuple[int, ...] = ()  # dq_pub[0..n) ++ [dc_pub] (a takeover); empty: zeros

    @property
    def delta(self) -> tuple[list[int], int]:
        n = self.epoch.n
        if not self.public_delta:
            return [0] * n, 0
        if len(self.public_delta) != n + 1:
            raise ProverInputError("public_delta", f"needs n + 1 = {n + 1} entries, got {len(self.public_delta)}")
        return [_signed(f"public_delta[{i}]", x, POSITION_BITS) for i, x in enumerate(self.public_delta[:n])], _signed(
            "public_delta[n]", self.public_delta[n], CASH_OUT_BITS)


@dataclass(frozen=True)
class TransitionResult:
    """What a valid transition leads to."""

    new: Account
    fresh: bool  # the post-state meets initial margin (else it only reduced positions)
    figures: Figures  # IM figures of the post-state
    fee_total: int  # both sides' fees of the whole batch
    own_fees: int
    funding_paid: int  # the unsettled funding settled into cash (positive: paid by the account)
    cash_flow: int  # cash from the account's fills (sells minus buys), fees excluded
    orders_after: tuple[tuple[int, int, int], ...]  # per slot: (O, S_old, S_new), zeros when unused
    public: list[int] = field(default_factory=list)


def public_input_names(n: int) -> list[str]:
    """The transition proof's public inputs, in order."""
    names = ["commitment_old", "commitment_new", "digest", "funding_settled", "account", "collateral", "cash_out",
             "fill_table", "index", "count", "fee_bps", "fee_total", "fresh"]
    for j in range(ORDER_SLOTS):
        names += [f"order[{j}]", f"order_state_old[{j}]", f"order_state_new[{j}]"]
    names += [f"dq_pub[{i}]" for i in range(n)] + ["dc_pub"]
    return names


def apply_transition(req: TransitionRequest) -> TransitionResult:
    """Apply ``req`` as the circuit does, or raise :class:`UnsatisfiedError` naming the broken rule."""
    ep = req.epoch
    n = ep.n
    address = _unsigned("address", req.address, ACCOUNT_BITS)
    collateral = _unsigned("collateral", req.collateral, COLLATERAL_BITS)
    cash_out = _signed("cash_out", req.cash_out, CASH_OUT_BITS)
    fee_bps = _unsigned("fee_bps", req.fee_bps, FEE_BPS_BITS)
    count = _unsigned("count", req.count, INDEX_BITS, low=1)
    index = _unsigned("index", req.index, INDEX_BITS)
    if index >= count:
        raise ProverInputError("index", f"{index} is not below the batch's count {count}")
    settled = check_funding(req.settled if req.settled is not None else [0] * n, n, "settled")
    if req.old is None:
        q, c = [0] * n, 0
    else:
        if len(req.old.q) != n:
            raise ProverInputError("old.q", f"has {len(req.old.q)} positions, the epoch has n={n}")
        q, c = list(req.old.q), req.old.cash
    q_old = list(q)
    if len(req.orders) != ORDER_SLOTS:
        raise ProverInputError("orders", f"needs {ORDER_SLOTS} slots (None when unused)")
    slots = list(req.orders)
    commits = [s.commitment if s is not None else 0 for s in slots]
    for j, s in enumerate(slots):
        if s is not None:
            _unsigned(f"orders[{j}].filled_before", s.filled_before, SIZE_BITS)
            _field(f"orders[{j}].r_before", s.r_before)
            _field(f"orders[{j}].r_after", s.r_after)
    # 1. settle the funding since the settled epoch
    funding_paid = sum(qi * (fi - si) for qi, fi, si in zip(q, ep.fund, settled))
    c -= funding_paid
    # 2. the fills of the batch that involve this account
    added = [0] * ORDER_SLOTS
    flow = own_fees = 0
    for k, f in enumerate(req.table.fills):
        if f.buy_index >= count or f.sell_index >= count:
            raise UnsatisfiedError(f"fills[{k}]", f"an index is not below the batch's count {count}")
        if f.instrument >= n:
            raise UnsatisfiedError(f"fills[{k}].instrument", f"{f.instrument} is not listed (n={n})")
        for mine, order_commit, side in ((f.buy_index == index, f.buy_order, SIDE_BUY),
                                         (f.sell_index == index, f.sell_order, SIDE_SELL)):
            if not mine:
                continue
            if order_commit not in commits or order_commit == 0:
                raise UnsatisfiedError(f"fills[{k}]", "the account's order is not one it signed for this batch")
            j = commits.index(order_commit)
            slot = slots[j]
            assert slot is not None
            o = slot.order
            if o.trader != address:
                raise UnsatisfiedError(f"fills[{k}]", "the order belongs to another trader")
            if o.instrument != f.instrument or o.side != side:
                raise UnsatisfiedError(f"fills[{k}]", "the fill's instrument or side is not the order's")
            if (side == SIDE_BUY and f.price > o.limit_price) or (side == SIDE_SELL and f.price < o.limit_price):
                raise UnsatisfiedError(f"fills[{k}].price", f"{f.price} is worse than the order's limit {o.limit_price}")
            fee = fee_of(f.price, f.size, fee_bps)
            added[j] += f.size
            sign = 1 if side == SIDE_BUY else -1
            q[f.instrument] += sign * f.size
            flow -= sign * f.price * f.size
            own_fees += fee
    orders_after: list[tuple[int, int, int]] = []
    for j, s in enumerate(slots):
        if s is None:
            orders_after.append((0, 0, 0))
            continue
        filled = s.filled_before + added[j]
        if filled > s.order.size:
            raise UnsatisfiedError(f"orders[{j}]", f"filled {filled} lots of an order of {s.order.size}")
        orders_after.append((s.commitment, s.state_before, order_state(s.commitment, filled, s.r_after)))
    # 3. the public delta (a takeover), then cash out
    dq, dc = req.delta
    q = [x + d for x, d in zip(q, dq)]
    c += flow - own_fees + dc - cash_out
    try:
        new = Account.create(q, c, req.new_salt)
    except ProverInputError as exc:
        raise UnsatisfiedError("new state", exc.problem) from None
    # 4. the post-state meets initial margin, or it only reduced positions
    fig = ep.figures(KIND_IM, new.q, new.cash, collateral)
    fresh = fig.holds
    if not fresh:
        shrank = all((b == 0 or (a > 0) == (b > 0)) and abs(b) <= abs(a) for a, b in zip(q_old, q))
        if not shrank or cash_out != 0 or any(dq) or dc != 0:
            raise UnsatisfiedError("new state", f"below initial margin (IM excess {fig.excess}) and not only reducing")
    fee_total = batch_fee_total(req.table, fee_bps)
    old_c = req.old.commitment() if req.old is not None else 0
    public = [old_c, new.commitment(), ep.digest(), funding_digest(settled), address, collateral, cash_out % R,
              req.table.digest(), index, count, fee_bps, fee_total, int(fresh)]
    for order_c, s_old, s_new in orders_after:
        public += [order_c, s_old, s_new]
    public += [x % R for x in dq] + [dc % R]
    return TransitionResult(new, fresh, fig, fee_total, own_fees, funding_paid, flow, tuple(orders_after), public)

