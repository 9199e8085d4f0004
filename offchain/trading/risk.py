"""Pre-trade risk on the statement's integer figures: an order that could leave its trader below
initial margin is rejected with the reason.

:class:`EpochRiskCheck` is the book's risk callback ``(trader, instrument, signed lots, worst
price) -> None | reason``. It holds each trader's cash ``c`` and vault balance ``b`` (the
positions ``q`` are the book's, so they include every fill), charges every fill to both sides'
cash (price times size, plus a fee of ``fee_bps`` of the notional rounded up), and evaluates the
IM excess of :meth:`prover.statement.Epoch.figures` (``equity * 10000 - requirement *
im_factor_bps``) on the worst state the trader's orders can lead to.

The rule (docs/trading.md, "Pre-trade risk"). Every order of the trader, the new one and all
its resting ones, may fill completely, partly or not at all, in any combination, at its limit
price or better. The check bounds the IM excess over all these outcomes from below:

* equity: today's equity ``b + c + sum_i q_i m_i`` plus, for each order, its fill's effect on
  equity ``d * (m_i - p) - fee`` (``d`` signed lots, ``p`` its limit price) when that is negative
  (an order that would gain at the marks is given no credit);
* requirement: every instrument's position ranges over ``[q_i - sells_i, q_i + buys_i]``; the
  scenario loss is linear in each ``q_i``, so its maximum over the box is taken at the ends,
  instrument by instrument and scenario by scenario; the add-on takes the larger ``|q_i|`` end.

"All orders fill" is not the worst case (a resting buy and sell that offset each other leave the
account flat when both fill, and exposed when one does); this bound covers every case. An order
passes when the bound is ``>= 0``. An order that only reduces a position (opposite side, at most
the position) also passes when filling it at its worst price does not lower the account's IM
excess (``Epoch.figures`` before and after), so an account below IM can always trade down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from offchain.trading.events import Fill, FillListener, OpenOrder, RiskCheck
from offchain.trading.listing import ListingSpec
from offchain.trading.orders import Side
from prover.errors import ProverInputError
from prover.statement import BPS, CASH_BITS, KIND_IM, POSITION_BITS, Epoch
from zkmargin.errors import InputError


class TradingBook(Protocol):
    """What the risk check needs of a book (both books have it)."""

    listing: ListingSpec
    risk_check: RiskCheck | None
    fill_listener: FillListener | None

    def positions(self, trader: str) -> list[int]: ...

    def set_position(self, trader: str, instrument: int, lots: int) -> None: ...

    def open_orders(self, trader: str) -> list[OpenOrder]: ...


@dataclass
class AccountState:
    """A trader's cash ``c`` (signed, base units) and vault balance ``b`` (base units)."""

    cash: int
    collateral: int


class RiskFigures(NamedTuple):
    """The bound the check decides on (base units): ``excess = equity * 10000 - requirement *
    im_factor_bps``; ``equity`` is a lower and ``requirement`` (before the IM factor) an upper
    bound over the outcomes of the trader's orders."""

    equity: int
    requirement: int
    excess: int
    im_factor_bps: int

    @property
    def im_requirement(self) -> int:
        """``requirement * im_factor_bps / 10000``, rounded up (``excess < 0`` iff ``equity`` is below it)."""
        return -((-self.requirement * self.im_factor_bps) // BPS)


class EpochRiskCheck:
    """The IM pre-trade check of one epoch, wired into ``book``: it becomes the book's
    ``risk_check`` and its ``fill_listener`` (after the listener the book already had, if any).
    Instrument ``i`` of the book's listing is instrument ``i`` of ``epoch``."""

    def __init__(self, book: TradingBook, epoch: Epoch, *, fee_bps: int = 0) -> None:
        if book.listing.n != epoch.n:
            raise InputError("epoch", f"has {epoch.n} instruments, the book's listing {book.listing.n}")
        if isinstance(fee_bps, bool) or not isinstance(fee_bps, int) or not 0 <= fee_bps < BPS:
            raise InputError("fee_bps", f"must be an integer in [0, {BPS}), got {fee_bps!r}")
        self.book = book
        self.epoch = epoch
        self.fee_bps = fee_bps
        self._accounts: dict[str, AccountState] = {}
        book.risk_check = self
        previous = book.fill_listener
        if previous is None:
            book.fill_listener = self.apply_fill
        else:  # keep the listener the book had (e.g. the operator's fill store), then update cash

            def both(fill: Fill) -> None:
                previous(fill)
                self.apply_fill(fill)

            book.fill_listener = both

    def set_epoch(self, epoch: Epoch) -> None:
        """Check against a new epoch's marks, scenario PnL and add-ons from now on."""
        if epoch.n != self.epoch.n:
            raise InputError("epoch", f"has {epoch.n} instruments, expected {self.epoch.n}")
        self.epoch = epoch

    def set_account(self, trader: str, *, q: Sequence[int], cash: int, collateral: int) -> None:
        """Set a trader's private state: positions ``q`` (also seeded into the book), cash and
        vault balance. Use the operator's current state, including every fill already matched."""
        t = trader.lower()
        try:
            self.epoch.figures(KIND_IM, list(q), cash, collateral)  # validates lengths and bounds
        except ProverInputError as exc:
            raise InputError(exc.field, exc.problem) from None
        for i, qi in enumerate(q):
            self.book.set_position(t, i, qi)
        self._accounts[t] = AccountState(cash, collateral)

    def account(self, trader: str) -> AccountState | None:
        return self._accounts.get(trader.lower())

    def fee(self, notional: int) -> int:
        """``ceil(notional * fee_bps / 10000)``."""
        return -((-notional * self.fee_bps) // BPS)

    def _fee_bound(self, size: int, price: int) -> int:
        """The most fees an order of ``size`` lots can pay at ``price``: each fill's fee rounds up
        by less than one unit and an order fills at most ``size`` times."""
        fee = self.fee(size * price)
        return fee + size - 1 if self.fee_bps else fee

    def apply_fill(self, fill: Fill) -> None:
        """Charge a fill to both sides' cash (the book has already moved the positions)."""
        notional = fill.size * fill.price
        fee = self.fee(notional)
        buyer, seller = fill.buyer, fill.seller
        b = self._accounts.get(buyer)
        if b is not None:
            b.cash -= notional + fee
        s = self._accounts.get(seller)
        if s is not None:
            s.cash += notional - fee

    def figures(self, trader: str, extra: Sequence[tuple[int, int, int]] = ()) -> RiskFigures:
        """The bound over every outcome of the trader's resting orders and ``extra`` orders
        ``(instrument, signed lots, limit price)``."""
        state = self._accounts.get(trader.lower())
        if state is None:
            raise InputError("trader", f"{trader} has no account state")
        orders = [(o.instrument, o.remaining if o.side == Side.BUY else -o.remaining, o.price)
                  for o in self.book.open_orders(trader)]
        orders.extend(extra)
        return self._bound(self.book.positions(trader), state, orders)

    def _bound(self, q: list[int], state: AccountState, orders: list[tuple[int, int, int]]) -> RiskFigures:
        ep = self.epoch
        marks = ep.marks
        fee_bps = self.fee_bps
        lo = list(q)
        hi = list(q)
        equity = state.collateral + state.cash + sum(qi * mi for qi, mi in zip(q, marks) if qi)
        for i, d, p in orders:
            if d > 0:
                hi[i] += d
                size = d
            else:
                lo[i] += d
                size = -d
            gain = d * (marks[i] - p)
            if fee_bps:
                gain -= -((-size * p * fee_bps) // BPS) + size - 1  # _fee_bound(size, p)
            if gain < 0:
                equity += gain
        # over q_i in [lo_i, hi_i] the loss -q_i * L[i][s] is largest at lo_i when L >= 0, else at hi_i
        worst = 0
        active = [i for i in range(ep.n) if lo[i] or hi[i]]
        if active:
            columns = [[-lo[i] * x if x >= 0 else -hi[i] * x for x in ep.scenario_pnl[i]] for i in active]
            worst = max(0, max(map(sum, zip(*columns))))
        addons = ep.addons
        requirement = worst + sum(addons[i] * max(-lo[i], hi[i], lo[i], -hi[i]) for i in active)
        f = ep.im_factor_bps
        return RiskFigures(equity, requirement, equity * BPS - requirement * f, f)

    def __call__(self, trader: str, instrument: int, delta: int, price: int) -> str | None:
        t = trader.lower()
        state = self._accounts.get(t)
        if state is None:
            return f"{trader} has no account state"
        q = self.book.positions(t)
        limit = 1 << POSITION_BITS
        orders = [(o.instrument, o.remaining if o.side == Side.BUY else -o.remaining, o.price)
                  for o in self.book.open_orders(t)]
        orders.append((instrument, delta, price))
        span = [abs(qi) for qi in q]
        for i, d, _p in orders:
            span[i] += abs(d)
        if any(x >= limit for x in span):
            return f"a position could reach 2^{POSITION_BITS} lots"
        fig = self._bound(q, state, orders)
        if fig.excess >= 0:
            return None
        qi = q[instrument]
        if qi and delta and (delta > 0) != (qi > 0) and abs(delta) <= abs(qi):
            ep = self.epoch
            before = ep.figures(KIND_IM, q, state.cash, state.collateral)
            q1 = list(q)
            q1[instrument] += delta
            cash1 = state.cash - delta * price - self._fee_bound(abs(delta), price)
            if abs(cash1) < (1 << CASH_BITS):
                after = ep.figures(KIND_IM, q1, cash1, state.collateral)
                if after.excess >= before.excess:
                    return None
        others = len(orders) - 1
        return (f"initial margin: equity {fig.equity} would be below the requirement {fig.im_requirement} "
                f"(IM factor {fig.im_factor_bps} bps) if this order and the trader's {others} other resting "
                f"orders fill at their limit prices")
