"""The demo's trading phase: fills between accounts, funding, withdrawals, and each account's PnL.

The scenario's ``trading`` section (``offchain.devnet.demo_scenario.TradingSpec``) lists rounds of
fills between its accounts, each at the epoch's mark moved by a few basis points, settled with
:meth:`Protocol.trades` (signed orders, proven transitions), and withdrawals of realized profit
(:meth:`Protocol.cash_out` then :meth:`Protocol.withdraw`). The perpetuals' fill prices against
the oracle's index are the funding keeper's premium samples (``FundingKeeper.sample_prices``
with the round's volume-weighted fill price as both impact prices: the premium is
``(price - index) / index``); at every epoch the keeper advances the cumulative funding index
over the **market time** the price path moved since the previous epoch (the devnet compresses
chain time), and the epoch carries it.

The ledger (:class:`PnlLedger`) keeps, per account and instrument, the position and its average
entry price (average-cost method) from every fill the account made (its opening with the house,
the trading rounds), in exact fractions of base units:

* **realized PnL** = the cash moved by closing fills: each fill that reduces ``|q|`` realizes
  ``closed lots x (fill price - average entry) x sign(q)``; for a liquidated account the
  liquidation closes the whole book, so its realized PnL is everything it gained or lost apart
  from funding and the liquidation fee: ``final balance + withdrawn - deposit - funding + fee``;
* **unrealized PnL** = the open positions at the last epoch's marks against their average entry,
  ``sum q (mark - entry)``;
* **funding** (received, so negative when paid) = settled + unsettled: at every epoch each holder
  of ``q`` lots accrues ``-q . dF`` (``dF`` the epoch's index step), which is exactly what the
  statement counts (a transition settles ``q (F - Fs)`` into private cash, an MM proof counts
  the rest). Positions sum to zero per instrument over all holders (accounts, the house, the
  liquidator), so funding is zero-sum to the base unit.

For an account that was not liquidated (no fees are charged in the demo):
``equity + withdrawn - deposit = realized + unrealized + funding``, with ``equity = balance +
private cash + sum q mark - unsettled funding``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from offchain.devnet.demo_scenario import ROLES, TradingSpec
from offchain.devnet.session import Protocol
from offchain.trading.funding import FundingKeeper, FundingStep
from offchain.trading.listing import listing_from_instruments
from prover.statement import KIND_IM
from zkmargin.errors import DevnetError, InputError

BPS = 10_000
VALUE_SCALE = 10**6


def index_per_lot(p: Protocol, spots: dict[str, float]) -> list[int]:
    """The oracle's index price of each listed instrument's underlying, base units per lot."""
    return [round(spots[i.underlying] * i.lot_size * VALUE_SCALE) for i in p.listing]


@dataclass
class PnlLedger:
    """Positions, average entries and realized PnL per account, from its fills (module docstring)."""

    n: int
    q: dict[str, list[int]] = field(default_factory=dict)
    entry: dict[str, list[Fraction]] = field(default_factory=dict)  # average entry price per lot
    realized: dict[str, Fraction] = field(default_factory=dict)
    traded: dict[str, int] = field(default_factory=dict)  # fills per account

    def _ensure(self, who: str) -> None:
        if who not in self.q:
            self.q[who] = [0] * self.n
            self.entry[who] = [Fraction(0)] * self.n
            self.realized[who] = Fraction(0)
            self.traded[who] = 0

    def fill(self, who: str, i: int, lots: int, price: int) -> None:
        """``who`` buys (``lots`` > 0) or sells ``|lots|`` of instrument ``i`` at ``price``."""
        self._ensure(who)
        q, e = self.q[who][i], self.entry[who][i]
        self.traded[who] += 1
        if q == 0 or (q > 0) == (lots > 0):  # opening or adding: new average entry
            self.entry[who][i] = (e * abs(q) + Fraction(price) * abs(lots)) / (abs(q) + abs(lots))
        else:
            closed = min(abs(q), abs(lots))
            self.realized[who] += closed * (Fraction(price) - e) * (1 if q > 0 else -1)
            if abs(lots) > abs(q):  # flipped: the rest opens at the fill price
                self.entry[who][i] = Fraction(price)
            elif abs(lots) == abs(q):
                self.entry[who][i] = Fraction(0)
        self.q[who][i] = q + lots

    def trade(self, buyer: str, seller: str, i: int, lots: int, price: int) -> None:
        self.fill(buyer, i, lots, price)
        self.fill(seller, i, -lots, price)

    def close_out(self, who: str) -> None:
        """The book left the account (a liquidation): nothing is open any more."""
        self._ensure(who)
        self.q[who] = [0] * self.n
        self.entry[who] = [Fraction(0)] * self.n

    def unrealized(self, who: str, marks: Sequence[int]) -> Fraction:
        self._ensure(who)
        return sum((q * (Fraction(m) - e) for q, m, e in zip(self.q[who], marks, self.entry[who])), Fraction(0))


@dataclass
class TradingPhase:
    """Runs the scenario's trading rounds and withdrawals, keeps the funding index and the ledger."""

    spec: TradingSpec
    p: Protocol
    users: dict[str, Any]  # label -> ape account
    log: Any = print
    ledger: PnlLedger = field(init=False)
    keeper: FundingKeeper = field(init=False)
    funding: dict[str, int] = field(default_factory=dict)  # received (negative: paid), base units
    withdrawn: dict[str, int] = field(default_factory=dict)  # base units
    cashed_out: dict[str, int] = field(default_factory=dict)
    fills: list[dict[str, Any]] = field(default_factory=list)  # every trading-round fill
    steps: list[dict[str, Any]] = field(default_factory=list)  # every funding step
    withdrawals: list[dict[str, Any]] = field(default_factory=list)
    last_market_time: int | None = None

    def __post_init__(self) -> None:
        self.ledger = PnlLedger(len(self.p.listing))
        self.keeper = FundingKeeper(listing_from_instruments(self.p.listing, self.p.spots))
        self.by_role = dict(zip(ROLES, range(len(self.p.listing))))

    # --- before anything is sent ----------------------------------------------------------
    @staticmethod
    def check_steps(spec: TradingSpec, n_steps: int) -> None:
        """Every round and withdrawal is at a step of the path (raises InputError naming it)."""
        for r, rnd in enumerate(spec.rounds):
            if rnd.at_step > n_steps:
                raise InputError(f"scenario.trading.rounds.{r}.at_step", f"the path has steps 0..{n_steps}, got {rnd.at_step}")
        for k, w in enumerate(spec.withdrawals):
            if w.at_step > n_steps:
                raise InputError(f"scenario.trading.withdrawals.{k}.at_step",
                                 f"the path has steps 0..{n_steps}, got {w.at_step}")

    # --- the ledger -----------------------------------------------------------------------
    def opened(self, specs: Sequence[tuple[Any, dict[str, int], int, str]]) -> None:
        """Each account bought its holdings from the house at the epoch's marks."""
        marks = list(self.p._require_epoch().marks)
        house = str(self.p.house.address)
        symbols = self.p.book.instruments
        for user, holdings, _deposit, _label in specs:
            for symbol, lots in holdings.items():
                i = symbols.index(symbol)
                if lots > 0:
                    self.ledger.trade(str(user.address), house, i, lots, int(marks[i]))
                elif lots < 0:
                    self.ledger.trade(house, str(user.address), i, -lots, int(marks[i]))

    def liquidated(self, address: str) -> None:
        self.ledger.close_out(address)

    # --- funding --------------------------------------------------------------------------
    def funding_index(self, marks: Sequence[int], spots: dict[str, float], market_time: int) -> FundingStep:
        """Advance the index to an epoch with ``marks`` at ``market_time`` (unix s of the path) and
        accrue each holder's funding with its current positions."""
        elapsed = 0 if self.last_market_time is None else max(0, market_time - self.last_market_time)
        self.last_market_time = market_time
        st = self.keeper.advance(list(marks), index_per_lot(self.p, spots), elapsed)
        d = self.p.d
        for acct in self.p.book:
            if int(d.accounts.commitmentOf(acct.address)) == 0:
                continue
            owed = sum(q * x for q, x in zip(acct.q, st.delta))
            self.funding[acct.address] = self.funding.get(acct.address, 0) - owed
        self.steps.append({"market_time": market_time, "elapsed_seconds": elapsed, "delta": list(st.delta),
                           "index": list(st.index), "premiums": [None if x is None else x / 10**18 for x in st.premiums],
                           "rates": [None if x is None else x / 10**18 for x in st.rates]})
        return st

    def start(self, market_time: int) -> None:
        """The first epoch's market time (funding accrues from there)."""
        self.last_market_time = market_time

    # --- trading rounds and withdrawals -------------------------------------------------------
    def run(self, step: int) -> None:
        for r, rnd in enumerate(self.spec.rounds):
            if rnd.at_step == step:
                self._round(r, step)
        for k, w in enumerate(self.spec.withdrawals):
            if w.at_step == step:
                self._withdraw(k, step)

    def _live(self, label: str, where: str) -> Any:
        user = self.users[label]
        addr = str(user.address)
        state = self.p.d.accounts.accountState(addr)
        if int(self.p.d.accounts.commitmentOf(addr)) == 0 or state.inLiquidation:
            raise InputError(where, f"{label!r} is closed or in liquidation: it cannot trade")
        return user

    def _round(self, r: int, step: int) -> None:
        p = self.p
        epoch = p._require_epoch()
        marks = list(epoch.marks)
        trades: list[tuple[Any, Any, str, int, int | None]] = []
        rows: list[dict[str, Any]] = []
        for k, f in enumerate(self.spec.rounds[r].fills):
            where = f"scenario.trading.rounds.{r}.fills.{k}"
            buyer, seller = self._live(f.buyer, f"{where}.buyer"), self._live(f.seller, f"{where}.seller")
            i = self.by_role[f.instrument]
            price = round(Fraction(marks[i]) * (BPS + f.price_vs_mark_bps) / BPS)
            trades.append((buyer, seller, p.book.instruments[i], f.lots, price))
            rows.append({"step": step, "round": r, "buyer": f.buyer, "seller": f.seller, "buyer_address": str(buyer.address),
                         "seller_address": str(seller.address), "instrument": p.book.instruments[i],
                         "kind": p.listing[i].kind, "lots": f.lots, "price": price, "mark": int(marks[i]),
                         "price_vs_mark_bps": f.price_vs_mark_bps, "epoch": epoch.epoch_id})
        p.trades(trades)
        for row in rows:
            self.ledger.trade(row["buyer_address"], row["seller_address"], p.book.instruments.index(row["instrument"]),
                              row["lots"], row["price"])
            self.fills.append(row)
        for addr, q in self.ledger.q.items():  # the ledger follows the operator's book exactly
            if addr in p.book and int(p.d.accounts.commitmentOf(addr)) != 0 and list(p.book.get(addr).q) != q:
                raise DevnetError(f"{addr}: the PnL ledger holds {q}, the operator's book {p.book.get(addr).q}")
        self._sample(rows)
        self.log(f"  step {step:3d}: traded {len(rows)} fill(s) between accounts: " + "; ".join(
            f"{x['buyer']} bought {x['lots']} {x['instrument']} from {x['seller']} at {x['price'] / VALUE_SCALE:,.2f} "
            f"({x['price_vs_mark_bps']:+d} bps)" for x in rows))

    def _sample(self, rows: list[dict[str, Any]]) -> None:
        """One premium sample per perpetual: its volume-weighted fill price in this round (the mark
        when it did not trade) against the index."""
        marks = list(self.p._require_epoch().marks)
        idx = index_per_lot(self.p, self.p.spots)
        prices: list[Fraction | int | None] = []
        for i, kind in enumerate(self.keeper.kinds):
            mine = [x for x in rows if x["instrument"] == self.p.book.instruments[i]]
            if kind != "perp":
                prices.append(None)
            elif mine:
                prices.append(Fraction(sum(x["price"] * x["lots"] for x in mine), sum(x["lots"] for x in mine)))
            else:
                prices.append(int(marks[i]))
        self.keeper.sample_prices(idx, prices, prices)

    def _withdraw(self, k: int, step: int) -> None:
        w = self.spec.withdrawals[k]
        p = self.p
        user = self._live(w.label, f"scenario.trading.withdrawals.{k}.label")
        addr = str(user.address)
        acct = p.book.get(addr)
        cash = int(acct.cash) - sum(q * (f - s) for q, f, s in zip(acct.q, p._require_epoch().fund, p.settled_funding(addr)))
        moved = 0
        if cash > 0:  # realized profit and funding received, settled into public balance
            p.cash_out(user, cash)
            moved = cash
            self.cashed_out[addr] = self.cashed_out.get(addr, 0) + cash
        balance = int(p.d.vault.balanceOf(addr))
        fig = p.figures(addr, KIND_IM, 0)  # equity without public balance, and the IM requirement
        keep = max(0, int(fig.requirement * w.keep_im_multiple) - int(fig.equity))
        units = balance - keep
        if units <= 0:
            raise InputError(f"scenario.trading.withdrawals.{k}", f"{w.label!r} has nothing to withdraw above "
                                                                  f"{w.keep_im_multiple}x its initial margin")
        p.withdraw(user, units)
        self.withdrawn[addr] = self.withdrawn.get(addr, 0) + units
        self.withdrawals.append({"step": step, "label": w.label, "account": addr, "cashed_out": moved, "withdrawn": units})
        self.log(f"  step {step:3d}: {w.label} moved {moved / VALUE_SCALE:,.2f} USD of private cash to its balance and "
                 f"withdrew {units / VALUE_SCALE:,.2f} USD")

    # --- the report's figures ----------------------------------------------------------------
    def results(self, deposits: dict[str, int], fees: dict[str, int], liquidated: set[str]) -> dict[str, dict[str, Any]]:
        """Per account of the operator's book (base units; module docstring for the definitions)."""
        p = self.p
        epoch = p._require_epoch()
        out: dict[str, dict[str, Any]] = {}
        for acct in p.book:
            addr = acct.address
            balance = int(p.d.vault.balanceOf(addr))
            live = int(p.d.accounts.commitmentOf(addr)) != 0
            equity = int(p.figures(addr).equity) if live else balance
            funding = self.funding.get(addr, 0)
            withdrawn = self.withdrawn.get(addr, 0)
            if addr in liquidated:
                realized = Fraction(balance + withdrawn - deposits.get(addr, 0) - funding + fees.get(addr, 0))
                unrealized = Fraction(0)
            else:
                realized = self.ledger.realized.get(addr, Fraction(0))
                unrealized = self.ledger.unrealized(addr, epoch.marks)
            out[addr] = {"label": acct.label, "deposit": deposits.get(addr, 0), "withdrawn": withdrawn,
                         "cashed_out": self.cashed_out.get(addr, 0), "balance": balance, "equity": equity,
                         "realized_pnl": float(realized), "unrealized_pnl": float(unrealized), "funding": funding,
                         "fills": self.ledger.traded.get(addr, 0),
                         "positions": {s: q for s, q in zip(p.book.instruments, acct.q) if q} if live else {}}
        return out
