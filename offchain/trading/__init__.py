"""The operator's off-chain central limit order book and its signed orders.

* :mod:`offchain.trading.listing`: per-instrument tick and size limits (:class:`ListingSpec`);
* :mod:`offchain.trading.orders`: orders, their validation and their Poseidon commitment;
* :mod:`offchain.trading.signing`: EIP-712 signatures over order commitments;
* :mod:`offchain.trading.book`: the matching engine (:class:`OrderBook`);
* :mod:`offchain.trading.reference`: the list-based reference book (the tests' oracle);
* :mod:`offchain.trading.risk`: the pre-trade initial-margin check (:class:`EpochRiskCheck`);
* :mod:`offchain.trading.funding`: the integer cumulative funding index (:class:`FundingKeeper`).

See docs/trading.md.
"""

from offchain.trading.book import OrderBook
from offchain.trading.events import Cancel, CancelReason, Fill, OpenOrder, Report, RiskCheck, Status
from offchain.trading.funding import (
    FundingKeeper,
    FundingParams,
    FundingStep,
    PerpFundingParams,
    funding_owed,
)
from offchain.trading.listing import InstrumentSpec, ListingSpec, listing_from_instruments
from offchain.trading.orders import Order, OrderKind, OrderRequest, Side, order_commitment, parse_order
from offchain.trading.reference import ReferenceBook
from offchain.trading.risk import EpochRiskCheck, RiskFigures
from offchain.trading.signing import OrderSignature, order_digest, recover_signer, sign_order, verify_order

__all__ = [
    "Cancel",
    "CancelReason",
    "EpochRiskCheck",
    "Fill",
    "FundingKeeper",
    "FundingParams",
    "FundingStep",
    "InstrumentSpec",
    "ListingSpec",
    "OpenOrder",
    "Order",
    "OrderBook",
    "OrderKind",
    "OrderRequest",
    "OrderSignature",
    "PerpFundingParams",
    "ReferenceBook",
    "Report",
    "RiskCheck",
    "RiskFigures",
    "Side",
    "Status",
    "funding_owed",
    "listing_from_instruments",
    "order_commitment",
    "order_digest",
    "parse_order",
    "recover_signer",
    "sign_order",
    "verify_order",
]
