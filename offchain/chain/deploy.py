"""Deploy the zkmargin contracts on a connected ape network.

Usage (inside ``ape run`` / ``ape test`` / ``ape console``)::

    from ape import accounts
    from offchain.chain.deploy import deploy_protocol, fund_and_deposit

    owner, *users = accounts.test_accounts[:4]
    d = deploy_protocol(owner)
    fund_and_deposit(d, users, amount_units=10_000 * 10**6)

All amounts are integers in the collateral token's base units (6 decimals).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offchain.chain.manifest import write_json_atomic
from offchain.errors import DevnetError, InputError

COLLATERAL_DECIMALS = 6
PRICE_DECIMALS = 8


def feed_id(symbol: str) -> bytes:
    """The oracle feed id of ``symbol`` (e.g. ``"BTC/USD"``): ``keccak256(symbol)``."""
    from eth_utils import keccak

    if not symbol or "/" not in symbol:
        raise InputError("symbol", f"expected a pair like 'BTC/USD', got {symbol!r}")
    return keccak(text=symbol)


def to_price_units(price_usd: float | int | str) -> int:
    """A USD price as the oracle's 8-decimals integer (rounded half-even via ``Decimal``)."""
    from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

    try:
        value = Decimal(str(price_usd))
    except InvalidOperation as exc:
        raise InputError("price", f"not a number: {price_usd!r}") from exc
    if not value.is_finite() or value <= 0:
        raise InputError("price", f"must be a positive finite number, got {price_usd!r}")
    return int((value * 10**PRICE_DECIMALS).to_integral_value(rounding=ROUND_HALF_EVEN))


@dataclass
class Deployment:
    """Handles to the deployed contracts (ape ``ContractInstance`` objects)."""

    chain_id: int
    owner: Any
    token: Any
    vault: Any
    oracle: Any
    extra: dict[str, Any] = field(default_factory=dict)

    def addresses(self) -> dict[str, str]:
        """Contract name -> address, for registries and manifests."""
        out = {"token": str(self.token.address), "vault": str(self.vault.address), "oracle": str(self.oracle.address)}
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


def deploy_protocol(owner: Any, reporters: list[Any] | None = None) -> Deployment:
    """Deploy the collateral token, vault and oracle; allow ``reporters`` (default: owner) to push prices."""
    from ape import chain

    _require_connection()
    project = _project()
    token = project.MockStablecoin.deploy(owner, sender=owner)
    vault = project.CollateralVault.deploy(token.address, sender=owner)
    oracle = project.PriceOracle.deploy(owner, sender=owner)
    for reporter in reporters or [owner]:
        oracle.setReporter(reporter, True, sender=owner)
    return Deployment(chain_id=int(chain.chain_id), owner=owner, token=token, vault=vault, oracle=oracle)


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


def push_price(d: Deployment, symbol: str, price_usd: float | int | str, timestamp: int, reporter: Any | None = None) -> int:
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
