"""The operator's private account book: positions, cash and salt per account.

Only the commitment ``C = sponge(2, [n] ++ q ++ [c, salt])`` of each account goes on-chain
(docs/ARCHITECTURE.md); the opening lives here, in a JSON file the operator keeps. The book is
saved atomically, so a keeper or prover killed mid-write never leaves a half-written file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from offchain.devnet.manifest import write_json_atomic
from prover.field import R
from prover.statement import commitment as commit
from zkmargin.errors import InputError

BOOK_VERSION = 1


def salt_from_seed(seed_sequence: np.random.SeedSequence) -> int:
    """A uniform salt in ``[0, r)`` drawn from ``seed_sequence`` (512 random bits reduced mod r)."""
    words = seed_sequence.generate_state(16, dtype=np.uint32)
    return int.from_bytes(words.tobytes(), "little") % R


@dataclass
class PrivateAccount:
    """One account's opening: signed lots per listed instrument, signed cash (base units), salt."""

    address: str
    q: list[int]
    cash: int
    salt: int
    label: str = ""

    def commitment(self) -> int:
        return commit(self.q, self.cash, self.salt)

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "q": self.q, "cash": str(self.cash), "salt": str(self.salt), "label": self.label}

    @classmethod
    def from_json(cls, obj: dict[str, Any], where: str) -> PrivateAccount:
        try:
            return cls(
                address=str(obj["address"]),
                q=[int(x) for x in obj["q"]],
                cash=int(obj["cash"]),
                salt=int(obj["salt"]),
                label=str(obj.get("label", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(where, f"malformed account entry: {exc}") from exc


@dataclass
class AccountBook:
    """All private accounts for one deployment, keyed by checksummed address."""

    instruments: list[str]
    accounts: dict[str, PrivateAccount] = field(default_factory=dict)

    def __iter__(self) -> Iterator[PrivateAccount]:
        return iter(self.accounts.values())

    def __len__(self) -> int:
        return len(self.accounts)

    def __contains__(self, address: object) -> bool:
        return str(address) in self.accounts

    def get(self, address: str) -> PrivateAccount:
        try:
            return self.accounts[str(address)]
        except KeyError as exc:
            raise InputError("account", f"{address} is not in the operator's book") from exc

    def put(self, account: PrivateAccount) -> None:
        if len(account.q) != len(self.instruments):
            raise InputError(f"accounts[{account.address}].q", f"has {len(account.q)} entries, the listing has {len(self.instruments)}")
        self.accounts[account.address] = account

    def save(self, path: Path) -> None:
        write_json_atomic(
            path,
            {"version": BOOK_VERSION, "instruments": self.instruments, "accounts": [a.to_json() for a in self.accounts.values()]},
        )

    @classmethod
    def load(cls, path: Path) -> AccountBook:
        if not path.exists():
            raise InputError(str(path), "operator book not found (run the deploy/demo script first)")
        try:
            obj = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise InputError(str(path), f"not valid JSON: {exc}") from exc
        if obj.get("version") != BOOK_VERSION:
            raise InputError(f"{path}.version", f"expected {BOOK_VERSION}, got {obj.get('version')!r}")
        book = cls(instruments=[str(s) for s in obj["instruments"]])
        for i, entry in enumerate(obj["accounts"]):
            book.put(PrivateAccount.from_json(entry, f"{path}.accounts[{i}]"))
        return book


def lots_vector(instruments: Sequence[str], holdings: dict[str, int], where: str = "holdings") -> list[int]:
    """The q vector over the listing for ``holdings`` (symbol -> signed lots)."""
    unknown = sorted(set(holdings) - set(instruments))
    if unknown:
        raise InputError(where, f"unknown instrument(s) {unknown}; listed: {list(instruments)}")
    return [int(holdings.get(sym, 0)) for sym in instruments]
