"""Python mirror of every integer the zkmargin contracts compute.

- :mod:`offchain.protocol.auction`: Dutch-auction discount, fill slices, fill cost and fee.
- :mod:`offchain.protocol.vault`: the vault's share pool (deposits, withdrawals, transfers,
  fees, the shortfall split: account, then insurance fund, then socialized).
- :mod:`offchain.protocol.model`: a whole-protocol state model (vault + accounts + auctions)
  used to check the contracts step by step.
- :mod:`offchain.protocol.oracle`: EIP-712 price-report signing for the oracle keeper.
- :mod:`offchain.protocol.vectors`: the golden vectors replayed against the contracts.

Every function here is integer-exact and mirrors the Solidity of the same name
(``contracts/libraries/AuctionMath.sol``, ``ShareMath.sol``, ``assets/CollateralVault.sol``,
``liquidation/Liquidation.sol``).
"""

from offchain.protocol.auction import (
    BPS,
    WAD,
    AuctionParams,
    Slice,
    discount_bps,
    fee_split,
    fill_terms,
    slice_amount,
    take_slice,
)
from offchain.protocol.vault import ShortfallSplit, VaultModel

__all__ = [
    "BPS",
    "WAD",
    "AuctionParams",
    "ShortfallSplit",
    "Slice",
    "VaultModel",
    "discount_bps",
    "fee_split",
    "fill_terms",
    "slice_amount",
    "take_slice",
]
