"""The solvency statement of docs/ARCHITECTURE.md in plain integers.

This module is the off-chain reference the circuit is tested against:

    equity      = b + c + sum_i q_i * m_i - sum_i q_i * (F_i - Fs_i)
    loss_s      = - sum_i q_i * L[i][s]
    requirement = max(0, max_s loss_s) + sum_i |q_i| * a_i
    kind 0 (MM):         equity - requirement >= 0
    kind 1 (IM):         equity * 10000 - requirement * im_factor_bps >= 0
    kind 2 (insolvency): equity - requirement < 0

Public inputs, in order: ``[C, D, kind, account, collateral, FD_s]`` with
``C = sponge(2, [n] ++ q ++ [c, salt])``,
``D = sponge(1, [n, S, epoch_id, im_factor_bps] ++ m ++ L[0][*] ++ ... ++ L[n-1][*] ++ a ++ F)``
and ``FD_s = sponge(4, [n] ++ Fs)``: ``F`` is the epoch's cumulative funding index per lot and
``Fs`` the one the account last settled at (its unsettled funding counts in its equity).

The transition statement (every change of a commitment) is in :mod:`prover.transitions`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from prover.errors import ArtefactError, ProverInputError
from prover.field import R
from prover.poseidon import sponge

# --- bounds (docs/ARCHITECTURE.md, "Interfaces fixed by the code") -----------------------
#: |q_i| < 2^POSITION_BITS
POSITION_BITS = 64
#: |c| < 2^CASH_BITS
CASH_BITS = 128
#: 0 <= b < 2^COLLATERAL_BITS (vault balance the proof is about)
COLLATERAL_BITS = 128
#: |m_i|, |L[i][s]| < 2^EPOCH_VALUE_BITS and 0 <= a_i < 2^EPOCH_VALUE_BITS
EPOCH_VALUE_BITS = 64
#: 1 <= epoch_id < 2^EPOCH_ID_BITS
EPOCH_ID_BITS = 64
#: account is a 160-bit address
ACCOUNT_BITS = 160
MAX_INSTRUMENTS = 256
MAX_SCENARIOS = 256
#: 10000 <= im_factor_bps < 2^16
BPS = 10_000
IM_FACTOR_MIN = BPS
IM_FACTOR_BITS = 16
#: requirement kinds (public input ``kind``)
KIND_MM = 0
KIND_IM = 1
KIND_INSOLVENCY = 2
KINDS = (KIND_MM, KIND_IM, KIND_INSOLVENCY)
#: sponge domain tags
TAG_EPOCH = 1
TAG_ACCOUNT = 2
#: order commitment ``sponge(TAG_ORDER, [trader, instrument, side, limit_price, size, expiry, nonce, salt])``
TAG_ORDER = 3
#: funding digest ``sponge(TAG_FUNDING, [n] ++ F)``
TAG_FUNDING = 4
#: a batch's fill table ``sponge(TAG_BATCH, [K, nonce] ++ fills)``
TAG_BATCH = 5
#: an order's fill state ``sponge(TAG_ORDER_STATE, [O, filled, r])``
TAG_ORDER_STATE = 6
#: an order's limit_price, size, expiry and nonce are < 2^ORDER_FIELD_BITS
ORDER_FIELD_BITS = 64
#: number of public inputs and their order
PUBLIC_INPUT_NAMES = ("commitment", "digest", "kind", "account", "collateral", "funding_settled")

# Bit widths of intermediate quantities, derived from the bounds (n <= 2^8):
#: |sum_i q_i * x_i| < 2^(64 + 64 + 8) = 2^136 for x in {m, L[*][s], a}
SUM_BITS = POSITION_BITS + EPOCH_VALUE_BITS + 8
#: |equity|, |loss_s|, requirement < 2^138: |b|, |c| < 2^128, |sum q m| < 2^136 and the
#: unsettled funding |sum q (F - Fs)| < 2^137 (|F|, |Fs| < 2^64) add up to less than 2^138
VALUE_BITS = SUM_BITS + 2
#: |equity * 10000|, requirement * f < 2^(138 + 16); the excess fits in 2^155
EXCESS_BITS = VALUE_BITS + IM_FACTOR_BITS + 1


def _check_int(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProverInputError(field, f"must be an integer, got {type(value).__name__}")
    return value


def _check_signed(field: str, value: object, bits: int) -> int:
    v = _check_int(field, value)
    if not -(1 << bits) < v < (1 << bits):
        raise ProverInputError(field, f"|{v}| must be < 2^{bits}")
    return v


def _check_unsigned(field: str, value: object, bits: int, low: int = 0) -> int:
    v = _check_int(field, value)
    if not low <= v < (1 << bits):
        raise ProverInputError(field, f"{v} must be in [{low}, 2^{bits})")
    return v


def _check_kind(kind: object) -> int:
    k = _check_int("kind", kind)
    if k not in KINDS:
        raise ProverInputError("kind", f"must be 0 (MM), 1 (IM) or 2 (insolvency), got {k}")
    return k


@dataclass(frozen=True)
class Epoch:
    """The private-to-the-circuit, public-on-chain risk-epoch data that ``D`` hashes."""

    epoch_id: int
    im_factor_bps: int
    marks: tuple[int, ...]
    scenario_pnl: tuple[tuple[int, ...], ...]
    addons: tuple[int, ...]
    #: F_i: cumulative funding per lot of instrument i (collateral base units; 0 for dated ones)
    funding: tuple[int, ...] = ()

    @property
    def n(self) -> int:
        return len(self.marks)

    @property
    def s(self) -> int:
        return len(self.scenario_pnl[0]) if self.scenario_pnl else 0

    @classmethod
    def create(
        cls,
        epoch_id: int,
        im_factor_bps: int,
        marks: Sequence[int],
        scenario_pnl: Sequence[Sequence[int]],
        addons: Sequence[int],
        funding: Sequence[int] | None = None,
    ) -> Epoch:
        """Validate the bounds and build an epoch (raises :class:`ProverInputError`); ``funding``
        defaults to zeros (no funding accrued)."""
        _check_unsigned("epoch_id", epoch_id, EPOCH_ID_BITS, low=1)
        f = _check_int("im_factor_bps", im_factor_bps)
        if not IM_FACTOR_MIN <= f < (1 << IM_FACTOR_BITS):
            raise ProverInputError("im_factor_bps", f"{f} must be in [{IM_FACTOR_MIN}, 2^{IM_FACTOR_BITS})")
        n = len(marks)
        if not 1 <= n <= MAX_INSTRUMENTS:
            raise ProverInputError("marks", f"needs 1..{MAX_INSTRUMENTS} instruments, got {n}")
        if len(scenario_pnl) != n:
            raise ProverInputError("scenario_pnl", f"has {len(scenario_pnl)} rows, expected n={n}")
        if len(addons) != n:
            raise ProverInputError("addons", f"has {len(addons)} entries, expected n={n}")
        s = len(scenario_pnl[0])
        if not 1 <= s <= MAX_SCENARIOS:
            raise ProverInputError("scenario_pnl[0]", f"needs 1..{MAX_SCENARIOS} scenarios, got {s}")
        m = tuple(_check_signed(f"marks[{i}]", x, EPOCH_VALUE_BITS) for i, x in enumerate(marks))
        rows = []
        for i, row in enumerate(scenario_pnl):
            if len(row) != s:
                raise ProverInputError(f"scenario_pnl[{i}]", f"has {len(row)} scenarios, expected S={s}")
            rows.append(tuple(_check_signed(f"scenario_pnl[{i}][{j}]", x, EPOCH_VALUE_BITS) for j, x in enumerate(row)))
        a = tuple(_check_unsigned(f"addons[{i}]", x, EPOCH_VALUE_BITS) for i, x in enumerate(addons))
        fund = check_funding(funding if funding is not None else [0] * n, n, "funding")
        return cls(epoch_id, f, m, tuple(rows), a, fund)

    def digest_inputs(self) -> list[int]:
        """The sponge input ``[n, S, epoch_id, f] ++ m ++ L[0][*] ++ ... ++ a ++ F`` (signed ints)."""
        flat = [x for row in self.scenario_pnl for x in row]
        return [self.n, self.s, self.epoch_id, self.im_factor_bps, *self.marks, *flat, *self.addons, *self.fund]

    @property
    def fund(self) -> tuple[int, ...]:
        """The funding index (zeros when the epoch was built without one)."""
        return self.funding if self.funding else (0,) * self.n

    def funding_digest(self) -> int:
        """``FD = sponge(4, [n] ++ F)``: what later proofs of an account settled here refer to."""
        return funding_digest(self.fund)

    def digest(self) -> int:
        """``D`` (memoized per epoch: every proof of an epoch needs it)."""
        return _epoch_digest(self)

    def figures(
        self, kind: int, q: Sequence[int], cash: int, collateral: int = 0, settled: Sequence[int] | None = None
    ) -> Figures:
        """Equity, losses, requirement and excess of positions ``q``, cash and collateral in this
        epoch (the statement's integer figures); validates every bound. ``settled`` is the
        funding index the account last settled at (default: this epoch's, nothing unsettled)."""
        k = _check_kind(kind)
        b = _check_unsigned("collateral", collateral, COLLATERAL_BITS)
        c = _check_signed("cash", cash, CASH_BITS)
        if len(q) != self.n:
            raise ProverInputError("q", f"has {len(q)} positions, the epoch has n={self.n} instruments")
        qs = [_check_signed(f"q[{i}]", x, POSITION_BITS) for i, x in enumerate(q)]
        fs = self.fund if settled is None else check_funding(settled, self.n, "settled")
        unsettled = sum(qi * (fi - si) for qi, fi, si in zip(qs, self.fund, fs))
        equity = b + c + sum(qi * mi for qi, mi in zip(qs, self.marks)) - unsettled
        losses = tuple(-sum(qs[i] * self.scenario_pnl[i][s] for i in range(self.n) if qs[i]) for s in range(self.s))
        worst = max(0, max(losses))
        addon = sum(abs(qi) * ai for qi, ai in zip(qs, self.addons))
        requirement = worst + addon
        excess = equity * BPS - requirement * self.im_factor_bps if k == KIND_IM else equity - requirement
        return Figures(equity, losses, worst, addon, requirement, excess, k, unsettled)

    def requirement(self, q: Sequence[int], kind: int = KIND_MM) -> int:
        """``max(0, max_s loss_s) + sum_i |q_i| a_i`` (base units); for IM times ``f / 10000``, rounded up."""
        req = self.figures(KIND_MM, q, 0).requirement
        return -((-req * self.im_factor_bps) // BPS) if kind == KIND_IM else req

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: str = "epoch") -> Epoch:
        """Read the ``epoch.json`` artefact; checks the stored ``digest`` when present. Every
        number must be a whole number (a JSON integer or a decimal string): ``1.5`` is an error
        naming its field, never truncated. (Metadata keys are the risk engine's; the digest
        covers every number the statement uses.)"""
        if not isinstance(data, Mapping):
            raise ArtefactError(source, f"must be a JSON object, got {type(data).__name__}")
        for key in ("epoch_id", "im_factor_bps", "marks", "scenario_pnl", "addons"):
            if key not in data:
                raise ArtefactError(source, f"missing field {key!r}")
        marks = _int_list(f"{source}.marks", data["marks"])
        rows = data["scenario_pnl"]
        if not isinstance(rows, list):
            raise ArtefactError(f"{source}.scenario_pnl", "must be a list of lists of integers")
        epoch = cls.create(
            parse_whole(f"{source}.epoch_id", data["epoch_id"]),
            parse_whole(f"{source}.im_factor_bps", data["im_factor_bps"]),
            marks,
            [_int_list(f"{source}.scenario_pnl[{i}]", row) for i, row in enumerate(rows)],
            _int_list(f"{source}.addons", data["addons"]),
            _int_list(f"{source}.funding", data["funding"]) if "funding" in data else None,
        )
        if "digest" in data and parse_whole(f"{source}.digest", data["digest"]) != epoch.digest():
            raise ArtefactError(f"{source}.digest", "does not match the sponge of the epoch data")
        return epoch

    @classmethod
    def load(cls, path: str | Path) -> Epoch:
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ArtefactError(str(p), "epoch file not found") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ArtefactError(str(p), f"not valid JSON: {exc}") from None
        return cls.from_json(data, str(p))


@dataclass(frozen=True)
class Account:
    """An account's private state: positions ``q`` (lots), cash ``c`` and the commitment salt."""

    q: tuple[int, ...]
    cash: int
    salt: int

    @classmethod
    def create(cls, q: Sequence[int], cash: int, salt: int) -> Account:
        qs = tuple(_check_signed(f"q[{i}]", x, POSITION_BITS) for i, x in enumerate(q))
        if not 1 <= len(qs) <= MAX_INSTRUMENTS:
            raise ProverInputError("q", f"needs 1..{MAX_INSTRUMENTS} positions, got {len(qs)}")
        c = _check_signed("cash", cash, CASH_BITS)
        s = _check_unsigned("salt", salt, R.bit_length())
        if s >= R:
            raise ProverInputError("salt", "must be < r (the BN254 scalar field modulus)")
        return cls(qs, c, s)

    def commitment(self) -> int:
        return commitment(self.q, self.cash, self.salt)

    @classmethod
    def from_json(cls, data: Any, source: str = "account") -> Account:
        """An account file ``{"q": [lots, ...], "cash": units, "salt": int}``: lots are whole
        numbers (``1.5`` is an error naming ``q[i]``, never truncated), ``cash`` and ``salt``
        integers or decimal strings; unknown keys are named."""
        if not isinstance(data, Mapping):
            raise ProverInputError(source, f"must be a JSON object with q, cash, salt, got {type(data).__name__}")
        unknown = sorted(set(data) - ACCOUNT_KEYS)
        if unknown:
            raise ProverInputError(f"{source}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(ACCOUNT_KEYS))})")
        for key in ("q", "cash", "salt"):
            if key not in data:
                raise ProverInputError(source, f"missing field {key!r} (an account is {{\"q\": [...], \"cash\": int, \"salt\": int}})")
        q = _int_list(f"{source}.q", data["q"], what="lots")
        return cls.create(q, parse_whole(f"{source}.cash", data["cash"]), parse_whole(f"{source}.salt", data["salt"]))

    @classmethod
    def load(cls, path: str | Path) -> Account:
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ArtefactError(str(p), "account file not found") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ArtefactError(str(p), f"not valid JSON: {exc}") from None
        return cls.from_json(data, str(p))


#: the keys of an account file (``zkmargin prove --account``)
ACCOUNT_KEYS = frozenset({"q", "cash", "salt"})


def parse_whole(field: str, value: object, what: str = "") -> int:
    """A whole number from JSON: an integer or a decimal string (``"-12"``); a float such as
    ``1.5`` (or ``2.0``), a bool or anything else is a :class:`ProverInputError` naming ``field``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("+-").isdigit():
            return int(text)
    unit = f" of {what}" if what else ""
    if isinstance(value, float):
        return _raise_float(field, value, what)
    raise ProverInputError(field, f"must be a whole number{unit} (an integer or a decimal string), got {value!r}")


def _raise_float(field: str, value: float, what: str) -> int:
    unit = f" of {what}" if what else ""
    if value.is_integer():
        raise ProverInputError(field, f"must be a whole number{unit} written as an integer, got {value!r} (write {int(value)})")
    raise ProverInputError(field, f"must be a whole number{unit}, got {value!r} (fractional {what or 'values'} are not allowed)")


def _int_list(field: str, value: object, what: str = "") -> list[int]:
    if not isinstance(value, list):
        raise ProverInputError(field, f"must be a list of whole numbers, got {type(value).__name__}")
    return [parse_whole(f"{field}[{i}]", x, what) for i, x in enumerate(value)]


@lru_cache(maxsize=16)
def _epoch_digest(epoch: Epoch) -> int:
    return sponge(TAG_EPOCH, epoch.digest_inputs())


def epoch_digest(
    epoch_id: int,
    im_factor_bps: int,
    marks: Sequence[int],
    scenario_pnl: Sequence[Sequence[int]],
    addons: Sequence[int],
    funding: Sequence[int] | None = None,
) -> int:
    """``D = sponge(1, [n, S, epoch_id, im_factor_bps] ++ m ++ L (row-major) ++ a ++ F)``, bounds checked."""
    return Epoch.create(epoch_id, im_factor_bps, marks, scenario_pnl, addons, funding).digest()


def check_funding(funding: Sequence[int], n: int, field: str = "funding") -> tuple[int, ...]:
    """A funding index vector: ``n`` signed integers with ``|F_i| < 2^64``."""
    if len(funding) != n:
        raise ProverInputError(field, f"has {len(funding)} entries, expected n={n}")
    return tuple(_check_signed(f"{field}[{i}]", x, EPOCH_VALUE_BITS) for i, x in enumerate(funding))


def funding_digest(funding: Sequence[int]) -> int:
    """``FD = sponge(4, [n] ++ F)`` of a funding index vector (bounds checked)."""
    fund = check_funding(funding, len(funding))
    return sponge(TAG_FUNDING, [len(fund), *fund])


def commitment(q: Sequence[int], cash: int, salt: int) -> int:
    """``C = sponge(2, [n] ++ q ++ [cash, salt])`` with the bounds checked."""
    _ = Account.create(q, cash, salt)
    return sponge(TAG_ACCOUNT, [len(q), *q, cash, salt])


@dataclass(frozen=True)
class Figures:
    """The integer figures of the statement for one account and epoch."""

    equity: int
    losses: tuple[int, ...]
    worst_loss: int  # max(0, max_s loss_s)
    addon: int  # sum_i |q_i| * a_i
    requirement: int
    excess: int  # equity - requirement (MM, insolvency) or equity*10000 - requirement*f (IM)
    kind: int
    unsettled_funding: int = 0  # sum_i q_i (F_i - Fs_i): owed by the account (counted in equity)

    @property
    def holds(self) -> bool:
        return self.excess < 0 if self.kind == KIND_INSOLVENCY else self.excess >= 0


def solvency_figures(
    kind: int,
    *,
    q: Sequence[int],
    cash: int,
    collateral: int,
    marks: Sequence[int],
    scenario_pnl: Sequence[Sequence[int]],
    addons: Sequence[int],
    im_factor_bps: int,
) -> Figures:
    """Compute equity, losses, requirement and excess; validates every bound."""
    return Epoch.create(1, im_factor_bps, marks, scenario_pnl, addons).figures(kind, q, cash, collateral)


def check_solvency(
    kind: int,
    *,
    q: Sequence[int],
    cash: int,
    collateral: int,
    marks: Sequence[int],
    scenario_pnl: Sequence[Sequence[int]],
    addons: Sequence[int],
    im_factor_bps: int,
    salt: int | None = None,
) -> bool:
    """True iff the statement of ``kind`` holds (MM/IM: solvent; 2: insolvent).

    ``salt`` does not enter the check; when given it is validated (``0 <= salt < r``).
    """
    if salt is not None:
        Account.create(q, cash, salt)
    return Epoch.create(1, im_factor_bps, marks, scenario_pnl, addons).figures(kind, q, cash, collateral).holds


def public_inputs(
    commitment: int, digest: int, kind: int, account: int, collateral: int, funding_settled: int
) -> list[int]:
    """The public inputs in circuit order ``[C, D, kind, account, collateral, FD_s]`` (validated)."""
    _check_unsigned("commitment", commitment, 254)
    if commitment >= R:
        raise ProverInputError("commitment", "must be < r")
    _check_unsigned("digest", digest, 254)
    if digest >= R:
        raise ProverInputError("digest", "must be < r")
    return [
        commitment,
        digest,
        _check_kind(kind),
        _check_unsigned("account", account, ACCOUNT_BITS),
        _check_unsigned("collateral", collateral, COLLATERAL_BITS),
        _field_element("funding_settled", funding_settled),
    ]


def _field_element(field: str, value: object) -> int:
    v = _check_unsigned(field, value, 254)
    if v >= R:
        raise ProverInputError(field, "must be < r")
    return v
