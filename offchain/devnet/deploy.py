"""Deploy the zkmargin contracts on a connected ape network.

Usage (inside ``ape run`` / ``ape test`` / ``ape console``)::

    from ape import accounts
    from offchain.devnet.deploy import deploy_protocol, fund_and_deposit

    owner, *users = accounts.test_accounts[:4]
    d = deploy_protocol(owner)              # token, vault, oracle, epochs, accounts, liquidation, ...
    fund_and_deposit(d, users, amount_units=10_000 * 10**6)

All amounts are integers in the collateral token's base units (6 decimals).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offchain.devnet.manifest import write_json_atomic
from offchain.mirror.oracle import (  # re-exported: one definition, shared with signing
    feed_id,
    to_price_units,
)
from zkmargin.errors import DevnetError, InputError

__all__ = ["Deployment", "FeedParams", "deploy_protocol", "feed_id", "fund_and_deposit", "push_price", "to_price_units",
           "write_registry"]

COLLATERAL_DECIMALS = 6
PRICE_DECIMALS = 8


DEFAULT_FEEDS = ("BTC/USD", "ETH/USD")


@dataclass(frozen=True)
class FeedParams:
    """``IPriceOracle.FeedConfig`` for :func:`deploy_protocol` (prices in USD, converted to 8 decimals)."""

    heartbeat_seconds: int = 2 * 86_400
    max_report_age_seconds: int = 3_600
    max_deviation_bps: int = 5_000
    min_price_usd: str = "0.00000001"
    max_price_usd: str = "10000000"

    def as_tuple(self) -> tuple[bool, bool, bool, int, int, int, int, int]:
        """The Solidity struct (enabled, tripped, skipDeviationOnce, heartbeat, maxAge, maxDev, min, max)."""
        return (
            True,
            False,
            False,
            self.heartbeat_seconds,
            self.max_report_age_seconds,
            self.max_deviation_bps,
            to_price_units(self.min_price_usd),
            to_price_units(self.max_price_usd),
        )


@dataclass
class Deployment:
    """Handles to the deployed contracts (ape ``ContractInstance`` objects).

    ``token``, ``vault`` and ``oracle`` are the foundation contracts; the margin protocol adds the
    risk-epoch registry, the margin accounts, the liquidation module, the settlement module (trades),
    the Groth16 verifiers of the solvency and transition circuits (one ``MockVerifier`` for both
    unless real ones are passed) and the on-chain Poseidon sponge.
    """

    chain_id: int
    owner: Any
    token: Any
    vault: Any
    oracle: Any
    extra: dict[str, Any] = field(default_factory=dict)
    epochs: Any = None
    accounts: Any = None
    liquidation: Any = None
    verifier: Any = None
    poseidon: Any = None
    settlement: Any = None
    transition_verifier: Any = None
    topups: Any = None

    def addresses(self) -> dict[str, str]:
        """Contract name -> address, for registries and manifests."""
        out = {"token": str(self.token.address), "vault": str(self.vault.address), "oracle": str(self.oracle.address)}
        for name in ("epochs", "accounts", "liquidation", "settlement", "verifier", "transition_verifier", "poseidon", "topups"):
            contract = getattr(self, name)
            if contract is not None:
                out[name] = str(contract.address)
        for name, contract in self.extra.items():
            out[name] = str(contract.address)
        return out


def _project() -> Any:
    from ape import project

    return project


def _require_connection() -> None:
    from ape import chain

    try:
        _ = chain.chain_id
    except Exception as exc:  # ape raises ProviderNotConnectedError and friends
        raise DevnetError(f"no connected ape provider (start one with --network ethereum:local:foundry): {exc}") from exc


#: Constant stores of the generated ``PoseidonSponge`` (tools/gen_contracts.py).
POSEIDON_STORES = 5


def deploy_poseidon(owner: Any) -> Any:
    """Deploy the Poseidon constant stores and the ``PoseidonSponge`` that reads them."""
    project = _project()
    data = [getattr(project, f"PoseidonT17Data{k}").deploy(sender=owner) for k in range(POSEIDON_STORES)]
    return project.PoseidonSponge.deploy(*[c.address for c in data], sender=owner)


def deploy_protocol(
    owner: Any,
    reporters: list[Any] | None = None,
    *,
    threshold: int = 1,
    feeds: tuple[str, ...] = DEFAULT_FEEDS,
    feed_params: FeedParams | None = None,
    token: Any = None,
    verifier: Any = None,
    transition_verifier: Any = None,
    risk_keeper: Any = None,
    guardian: Any = None,
    grace_period_seconds: int = 3_600,
    auction: Any = None,
    digest_check: bool = False,
    fee_bps: int = 5,
) -> Deployment:
    """Deploy and wire the whole protocol; allow ``reporters`` (default: owner) to sign prices.

    ``token`` defaults to a fresh ``MockStablecoin`` (6 decimals, owner mints); ``verifier`` to a
    ``MockVerifier`` controlled by ``owner`` (pass the generated Groth16 verifier for real proofs;
    ``transition_verifier`` likewise, the same mock by default); ``fee_bps`` is the trading fee
    per side;
    ``risk_keeper`` to ``owner``; ``auction`` is an :class:`offchain.mirror.AuctionParams`.
    The first three contracts and the call ``deploy_protocol(owner)`` are as in the foundation demo.
    """
    from ape import chain

    from offchain.mirror.auction import AuctionParams

    _require_connection()
    project = _project()
    if not 1 <= threshold <= len(reporters or [owner]):
        raise InputError("threshold", f"must be in [1, {len(reporters or [owner])}], got {threshold}")
    if grace_period_seconds < 0:
        raise InputError("grace_period_seconds", "must be >= 0")
    if not 0 <= fee_bps < 10_000:
        raise InputError("fee_bps", f"must be in [0, 10000), got {fee_bps}")
    params = auction or AuctionParams()
    fp = feed_params or FeedParams()
    token = token or project.MockStablecoin.deploy(owner, sender=owner)
    vault = project.CollateralVault.deploy(token.address, sender=owner)
    oracle = project.PriceOracle.deploy(owner, sender=owner)
    for reporter in reporters or [owner]:
        oracle.setReporter(reporter, True, sender=owner)
    if threshold != 1:
        oracle.setThreshold(threshold, sender=owner)
    for symbol in feeds:
        oracle.configureFeed(feed_id(symbol), fp.as_tuple(), sender=owner)
    poseidon = deploy_poseidon(owner)
    epochs = project.RiskEpochs.deploy(owner, oracle.address, poseidon.address, risk_keeper or owner, sender=owner)
    if digest_check:
        epochs.setDigestCheck(True, sender=owner)
    if verifier is None:
        verifier = project.MockVerifier.deploy(0, sender=owner)
        transition_verifier = transition_verifier or verifier
    elif transition_verifier is None:
        raise InputError("transition_verifier", "a real solvency verifier needs the transition circuit's verifier too")
    accounts = project.MarginAccounts.deploy(
        owner, vault.address, epochs.address, verifier.address, transition_verifier.address, grace_period_seconds,
        sender=owner,
    )
    liquidation = project.Liquidation.deploy(
        owner, vault.address, accounts.address, epochs.address, poseidon.address, params.as_tuple(), sender=owner
    )
    settlement = project.Settlement.deploy(owner, accounts.address, epochs.address, vault.address, fee_bps, sender=owner)
    vault.setModules(accounts.address, liquidation.address, settlement.address, sender=owner)
    accounts.setModules(liquidation.address, settlement.address, sender=owner)
    topups = project.TopUpAuthorizations.deploy(vault.address, accounts.address, sender=owner)
    vault.setTopUpModule(topups.address, sender=owner)
    if guardian is not None:
        for contract in (vault, oracle, epochs, accounts, liquidation, settlement):
            contract.setGuardian(guardian, sender=owner)
    return Deployment(
        chain_id=int(chain.chain_id),
        owner=owner,
        token=token,
        vault=vault,
        oracle=oracle,
        epochs=epochs,
        accounts=accounts,
        liquidation=liquidation,
        verifier=verifier,
        poseidon=poseidon,
        settlement=settlement,
        transition_verifier=transition_verifier,
        topups=topups,
    )


def fund_and_deposit(d: Deployment, users: list[Any], amount_units: int, deposit_units: int | None = None) -> None:
    """Mint ``amount_units`` to each user and deposit ``deposit_units`` (default: all) into the vault."""
    if amount_units <= 0:
        raise InputError("amount_units", f"must be positive, got {amount_units}")
    deposit = amount_units if deposit_units is None else deposit_units
    if not 0 < deposit <= amount_units:
        raise InputError("deposit_units", f"must be in (0, {amount_units}], got {deposit}")
    for user in users:
        d.token.mint(user, amount_units, sender=d.owner)
        d.token.approve(d.vault.address, deposit, sender=user)
        d.vault.deposit(deposit, sender=user)


def push_price(d: Deployment, symbol: str, price_usd: float | str, timestamp: int, reporter: Any | None = None) -> int:
    """Push one price to the oracle; return the new round id."""
    receipt = d.oracle.pushPrice(feed_id(symbol), to_price_units(price_usd), timestamp, sender=reporter or d.owner)
    events = list(receipt.decode_logs(d.oracle.PriceUpdated))
    return int(events[-1].roundId)


def write_registry(path: Path, d: Deployment) -> None:
    """Merge this deployment into the JSON registry at ``path`` (keyed by chain id), atomically."""
    registry: dict[str, Any] = {}
    if path.exists():
        try:
            registry = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise InputError(str(path), f"deployment registry is not valid JSON: {exc}") from exc
    registry[str(d.chain_id)] = {"owner": str(d.owner.address), "contracts": d.addresses()}
    write_json_atomic(path, registry)
