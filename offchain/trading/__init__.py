"""The operator's off-chain central limit order book and its signed orders.

* :mod:`offchain.trading.listing`: per-instrument tick and size limits (:class:`ListingSpec`);
* :mod:`offchain.trading.orders`: orders, their validation and their Poseidon commitment;
* :mod:`offchain.trading.signing`: EIP-712 signatures over order commitments;
* :mod:`offchain.trading.book`: the matching engine (:class:`OrderBook`);
* :mod:`offchain.trading.reference`: the list-based reference book (the tests' oracle);
* :mod:`offchain.trading.risk`: the pre-trade initial-margin check (:class:`EpochRiskCheck`).

See docs/trading.md.
"""

from offchain.trading.book import OrderBook
from offchain.trading.events import Cancel, CancelReason, Fill, OpenOrder, Report, RiskCheck, Status
from offchain.trading.listing import InstrumentSpec, ListingSpec
from offchain.trading.orders import Order, OrderKind, OrderRequest, Side, order_commitment, parse_order
from offchain.trading.reference import ReferenceBook
from offchain.trading.risk import EpochRiskCheck, RiskFigures
from offchain.trading.signing import OrderSignature, order_digest, recover_signer, sign_order, verify_order

__all__ = [
    "Cancel",
    "CancelReason",
    "EpochRiskCheck",
    "Fill",
    "InstrumentSpec",
    "ListingSpec",
    "OpenOrder",
    "Order",
    "OrderBook",
    "OrderKind",
    "OrderRequest",
    "OrderSignature",
    "ReferenceBook",
    "Report",
    "RiskCheck",
    "RiskFigures",
    "Side",
    "Status",
    "order_commitment",
    "order_digest",
    "parse_order",
    "recover_signer",
    "sign_order",
    "verify_order",
]
