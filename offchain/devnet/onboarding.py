"""Opening accounts from a file, and funding the liquidator and the insurance fund.

The accounts file (``ape run accounts --file FILE``; example ``examples/devnet-accounts.json``)::

    {"accounts": [{"label": "naked long BTC perp", "holdings": {"BTC-PERP": 1000}, "deposit_usd": 12000},
                  {"label": "long BTC perp + put", "count": 2, "holdings": {"BTC-PERP": 300, "BTC-PUT": 300},
                   "deposit_usd": 6000}],
     "insurance_fund_usd": 20000, "liquidator_capital_usd": 200000}

``holdings`` are signed lots of the devnet listing's roles (``offchain.devnet.demo_scenario.ROLES``:
1 lot = 0.001 BTC or 0.01 ETH; options at the listed strikes), bought at the current epoch's
marks; ``deposit_usd`` is the collateral deposited (USD, the token has 6 decimals). The demo's
scenario file uses the same account entries. Everything is checked before any transaction: a
deposit below the portfolio's initial margin is an error naming the account's label and the
USD it needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from offchain.devnet.demo_scenario import AccountTemplate, resolve_holdings
from offchain.devnet.deploy import COLLATERAL_DECIMALS
from offchain.devnet.operator import lots_vector
from offchain.validation import load_json, parse_model
from prover.statement import KIND_IM
from zkmargin.errors import InputError

UNIT = 10**COLLATERAL_DECIMALS
#: the most USD one call may mint into the insurance fund or the liquidator's balance
MAX_FUNDING_USD = 1e12


class AccountsFile(BaseModel):
    """The accounts file (see the module docstring); unknown keys are named."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    accounts: list[AccountTemplate] = Field(default_factory=list)
    insurance_fund_usd: float = Field(default=0.0, ge=0, le=MAX_FUNDING_USD, allow_inf_nan=False)
    liquidator_capital_usd: float = Field(default=0.0, ge=0, le=MAX_FUNDING_USD, allow_inf_nan=False)


def load_accounts_file(path: str | Path) -> AccountsFile:
    """Read and validate an accounts file; errors name ``<file>:accounts[0].holdings`` and the like."""
    data = load_json(str(path), field=str(path))
    return parse_model(AccountsFile, data, prefix=f"{path}:")


@dataclass(frozen=True)
class Opening:
    """One account to open: who, what (symbol -> signed lots), the deposit, its label and where it
    came from (the field errors name)."""

    user: Any
    holdings: dict[str, int]
    deposit_units: int
    label: str
    where: str

    def spec(self) -> tuple[Any, dict[str, int], int, str]:
        """The ``(user, holdings, deposit_units, label)`` of ``Protocol.open_accounts``."""
        return (self.user, self.holdings, self.deposit_units, self.label)


def expand(templates: Sequence[AccountTemplate], symbols: Sequence[str], users: Sequence[Any], field: str = "accounts") -> list[Opening]:
    """One :class:`Opening` per account of ``templates`` (a template with ``count`` k gives k
    accounts labelled ``label #1..#k``), with ``users`` in order."""
    need = sum(t.count for t in templates)
    if need > len(users):
        raise InputError(field, f"{need} accounts to open but only {len(users)} free devnet accounts")
    out = []
    k = 0
    for i, tmpl in enumerate(templates):
        for j in range(tmpl.count):
            label = tmpl.label if tmpl.count == 1 else f"{tmpl.label} #{j + 1}"
            out.append(Opening(users[k], resolve_holdings(tmpl.holdings, list(symbols)), round(tmpl.deposit_usd * UNIT),
                               label, f"{field}[{i}]"))
            k += 1
    return out


def _epoch(p: Any) -> Any:
    if p.epoch is None:
        raise InputError("epoch", "no risk epoch posted yet (run `ape run deploy` or `ape run epochs` first)")
    return p.epoch


def initial_margin_units(p: Any, holdings: dict[str, int]) -> int:
    """The IM requirement (base units) of ``holdings`` in the current epoch: the least collateral
    an account holding them (bought at the epoch's marks) must have to open."""
    epoch = _epoch(p)
    q = lots_vector(p.book.instruments, holdings)
    return int(epoch.statement().requirement(q, KIND_IM))


def check_openings(p: Any, openings: Sequence[Opening]) -> None:
    """Raise :class:`InputError` (naming the account's label and the USD it needs) for the first
    opening whose deposit is below its initial margin, or whose user already has an account,
    before any transaction is sent."""
    epoch = _epoch(p)
    seen: set[str] = set()
    for o in openings:
        addr = str(o.user.address)
        if addr in seen or addr in p.book or int(p.d.accounts.commitmentOf(addr)) != 0:
            raise InputError(o.where, f"{o.label!r}: {addr} already has a margin account")
        seen.add(addr)
        need = initial_margin_units(p, o.holdings)
        have = int(p.d.vault.balanceOf(addr)) + o.deposit_units
        if have < need:
            raise InputError(
                f"{o.where}.deposit_usd",
                f"{o.label!r}: a deposit of {o.deposit_units / UNIT:,.2f} USD is below the initial margin of its "
                f"portfolio: it needs at least {need / UNIT:,.2f} USD (IM requirement at the marks of epoch {epoch.epoch_id})",
            )


def notional_usd(p: Any, holdings: dict[str, int]) -> float:
    """Gross notional of ``holdings`` in USD: ``sum |lots| * lot_size * spot`` of each instrument's
    underlying (options count their underlying amount, not their premium)."""
    by_symbol = {i.symbol: i for i in p.listing}
    return float(sum(abs(lots) * by_symbol[s].lot_size * p.spots[by_symbol[s].underlying] for s, lots in holdings.items()))


def leverage(p: Any, holdings: dict[str, int], deposit_units: int) -> float:
    """Notional leverage: gross notional / deposit (the figure behind labels such as "4.1x")."""
    return float(notional_usd(p, holdings) / (deposit_units / UNIT))


def free_users(p: Any, n: int, exclude: Sequence[str] = ()) -> list[Any]:
    """``n`` devnet test accounts with no margin account yet (test accounts 1..9, then generated
    ones given gas money), skipping ``exclude`` (the liquidator)."""
    from ape import accounts, chain

    skip = {str(a) for a in exclude} | {str(p.d.owner.address)}

    def free(acct: Any) -> bool:
        addr = str(acct.address)
        return addr not in skip and addr not in p.book and int(p.d.accounts.commitmentOf(addr)) == 0

    out = [a for a in list(accounts.test_accounts)[1:10] if free(a)][:n]
    tries = 0
    while len(out) < n and tries < 10 * n + 100:
        extra = accounts.test_accounts.generate_test_account()
        tries += 1
        if free(extra):
            chain.provider.set_balance(extra.address, 10**20)
            out.append(extra)
    return out
