"""Python mirror of every integer the zkmargin contracts compute.

- :mod:`offchain.mirror.auction`: Dutch-auction discount, fill slices, fill cost and fee.
- :mod:`offchain.mirror.vault`: the vault's share pool (deposits, withdrawals, transfers,
  fees, the shortfall split: account, then insurance fund, then socialized).
- :mod:`offchain.mirror.model`: a whole-protocol state model (vault + accounts + auctions)
  used to check the contracts step by step.
- :mod:`offchain.mirror.oracle`: EIP-712 price-report signing for the oracle keeper.
- :mod:`offchain.mirror.vectors`: the golden vectors replayed against the contracts.

Every function here is integer-exact and mirrors the Solidity of the same name
(``contracts/libraries/AuctionMath.sol``, ``ShareMath.sol``, ``assets/CollateralVault.sol``,
``liquidation/Liquidation.sol``).
"""

from offchain.mirror.auction import (
    WAD,
    AuctionParams,
    Slice,
    discount_bps,
    fee_split,
    fill_terms,
    slice_amount,
    take_slice,
)
from offchain.mirror.vault import ShortfallSplit, VaultModel

__all__ = [
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
