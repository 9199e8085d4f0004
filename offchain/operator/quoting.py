"""Human prices for the exchange's command line: USD per unit of the underlying <-> base units per lot.

The book's prices are integer collateral base units (6 decimals) **per lot** (docs/ARCHITECTURE.md,
"Units"); a trader thinks in USD per unit of the underlying (30,000.5 USD per BTC). With the
instrument's lot size ``L`` (units of the underlying per lot, from the deployment's listing) a
price ``P`` USD per unit is ``P * L * 10^6`` base units per lot, exactly (decimal arithmetic); it
must be a whole number on the instrument's tick grid, else :class:`InputError` names the option
(``--price``) and says what the grid is. The same conversion shows the book back in USD per unit
and turns the oracle's index (8 decimals per unit) into base units per lot for the funding samples.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from offchain.operator.records import OrderStatus
from offchain.operator.store import OperatorStore
from offchain.risk.instruments import AnyInstrument
from offchain.risk.instruments import Instrument as InstrumentModel
from offchain.trading.listing import VALUE_SCALE, ListingSpec, listing_from_instruments
from offchain.trading.orders import OrderKind, Side
from offchain.validation import load_json
from zkmargin.errors import InputError

#: the oracle's answers have 8 decimals (``offchain.devnet.deploy.PRICE_DECIMALS``)
ORACLE_SCALE = 10**8


def read_instruments(state_dir: str | Path) -> list[AnyInstrument]:
    """The risk engine's instruments of the deployment saved in ``<state_dir>/deployment.json``
    (its ``listing``, in the epoch's order: instrument ``i`` is the book's instrument ``i``)."""
    path = Path(state_dir) / "deployment.json"
    if not path.is_file():
        raise InputError("--state-dir", f"no deployment in {state_dir} (deploy first, or pass --state-dir)")
    obj = load_json(str(path), field="deployment")
    items = obj.get("listing") if isinstance(obj, dict) else None
    if not isinstance(items, list) or not items:
        raise InputError(f"{path}.listing", "missing: the deployment lists no instruments")
    try:
        return list(TypeAdapter(list[InstrumentModel]).validate_python(
            [{**i, "lot_size": float(i["lot_size"])} for i in items]))
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise InputError(f"{path}.listing", f"not a list of instruments: {exc}") from None


def listing_for(instruments: Sequence[AnyInstrument], spots: Mapping[str, float]) -> ListingSpec:
    """The book's listing of ``instruments`` with ticks from the reference ``spots`` (USD per
    unit); the exchange records it in its database on its first start and keeps it."""
    return listing_from_instruments(instruments, spots)


def recorded_listing(store: OperatorStore, instruments: Sequence[AnyInstrument],
                     spots: Callable[[], Mapping[str, float]]) -> ListingSpec:
    """The listing an exchange over ``store`` trades: the one recorded in the database on its
    first start, else :func:`listing_for` with ``spots()`` (called only then), so the tick grid
    never moves under the resting orders."""
    text = store.setting("listing")
    if text is None:
        return listing_for(instruments, spots())
    try:
        return ListingSpec.model_validate_json(text)
    except ValidationError as exc:
        raise InputError(f"{store.path}.settings.listing", f"not a listing: {exc}") from None


class Quoting:
    """Conversions between the command line's units and the book's for one listing."""

    def __init__(self, listing: ListingSpec, instruments: Sequence[AnyInstrument]) -> None:
        if [s.symbol for s in listing.instruments] != [i.symbol for i in instruments]:
            raise InputError("listing", f"lists {[s.symbol for s in listing.instruments]}, the deployment "
                                        f"{[i.symbol for i in instruments]}")
        self.listing = listing
        self.instruments = list(instruments)
        self.lots = [Decimal(repr(i.lot_size)) for i in instruments]

    def index(self, symbol: str, option: str = "--symbol") -> int:
        """The instrument index of ``symbol`` (``InputError`` naming ``option`` when it is not listed)."""
        for i, spec in enumerate(self.listing.instruments):
            if spec.symbol == symbol:
                return i
        raise InputError(option, f"{symbol!r} is not listed (listed: {', '.join(s.symbol for s in self.listing.instruments)})")

    def tick_usd(self, i: int) -> Decimal:
        """The tick in USD per unit of the underlying."""
        return (Decimal(self.listing.instruments[i].tick_size) / VALUE_SCALE / self.lots[i]).normalize()

    def price_per_lot(self, i: int, usd: str, option: str = "--price") -> int:
        """``usd`` (USD per unit, a decimal string) in base units per lot, on the tick grid."""
        spec = self.listing.instruments[i]
        try:
            value = Decimal(usd)
        except InvalidOperation:
            raise InputError(option, f"{usd!r} is not a decimal number") from None
        if not value.is_finite() or value <= 0:
            raise InputError(option, f"{usd} must be a finite price > 0 (USD per {self.instruments[i].underlying})")
        per_lot = value * self.lots[i] * VALUE_SCALE
        grid = (f"the tick of {spec.symbol} is {self.tick_usd(i)} USD per {self.instruments[i].underlying} "
                f"({spec.tick_size} base units per lot of {self.lots[i]} {self.instruments[i].underlying})")
        if per_lot != per_lot.to_integral_value() or int(per_lot) % spec.tick_size:
            raise InputError(option, f"{usd} USD is not on the tick grid: {grid}")
        if int(per_lot) > spec.max_price:
            raise InputError(option, f"{usd} USD is above the highest price of {spec.symbol}")
        return int(per_lot)

    def usd(self, i: int, per_lot: int) -> Decimal:
        """A price per lot as USD per unit, with the tick's decimals."""
        value = Decimal(per_lot) / VALUE_SCALE / self.lots[i]
        places = max(0, -self.tick_usd(i).as_tuple().exponent)  # type: ignore[operator]
        return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)

    def size_text(self, i: int, lots: int) -> str:
        """``5 lots (0.005 BTC)``."""
        units = (self.lots[i] * lots).normalize()
        return f"{lots} lot{'s' if lots != 1 else ''} ({units:f} {self.instruments[i].underlying})"

    def index_per_lot(self, i: int, answer: int) -> int:
        """An oracle answer (USD per unit, 8 decimals) in base units per lot, rounded half to even."""
        value = Decimal(answer) * self.lots[i] * VALUE_SCALE / ORACLE_SCALE
        return int(value.to_integral_value(rounding=ROUND_HALF_EVEN))

    # --- what the scripts print ----------------------------------------------------------------
    def depth_lines(self, i: int, bids: Sequence[tuple[int, int]], asks: Sequence[tuple[int, int]]) -> list[str]:
        """The book of instrument ``i``: asks from the highest down to the best, then the bids."""
        spec, inst = self.listing.instruments[i], self.instruments[i]
        out = [f"{spec.symbol} ({inst.kind}, lot {self.lots[i]} {inst.underlying}, tick {self.tick_usd(i)} USD)"]
        rows = [("ask", p, q) for p, q in reversed(asks)] + [("bid", p, q) for p, q in bids]
        if not rows:
            return [*out, "  (empty)"]
        width = max(len(str(self.usd(i, p))) for _, p, _ in rows)
        out.append(f"  side  {'USD':>{width}}  lots")
        out += [f"  {s:<4}  {self.usd(i, p)!s:>{width}}  {q}" for s, p, q in rows]
        return out


def next_nonce(store: OperatorStore, trader: str) -> int:
    """One more than the highest nonce of any of ``trader``'s recorded orders (1 for the first)."""
    return max((o.order.nonce for o in store.orders(trader)), default=0) + 1


def resting_depth(store: OperatorStore, n: int, now: int) -> list[tuple[list[tuple[int, int]], list[tuple[int, int]]]]:
    """Per instrument, ``(bids, asks)`` as ``(price per lot, lots)`` best first, of the orders the
    exchange restores from ``store`` at ``now`` (open limit and post-only orders with lots left,
    not expired); reads only."""
    levels: list[tuple[dict[int, int], dict[int, int]]] = [({}, {}) for _ in range(n)]
    for rec, left in store.unfilled_orders():
        o = rec.order
        if rec.status != OrderStatus.OPEN or o.kind not in (OrderKind.LIMIT, OrderKind.POST_ONLY) or o.expiry <= now:
            continue
        side = levels[o.instrument][0 if o.side == Side.BUY else 1]
        side[o.limit_price] = side.get(o.limit_price, 0) + left
    return [(sorted(b.items(), reverse=True), sorted(a.items())) for b, a in levels]
