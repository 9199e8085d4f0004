"""Batch risk-matrix margin for many accounts with sparse positions.

The per-instrument weighted scenario PnL matrix ``P`` (``n x S``, per unit) and the per-unit
add-ons are computed once for the listing (one vectorized Black-76 call). Accounts are a CSR
matrix ``Q`` (``N x n``, net sizes in units of the underlying). Then, chunk by chunk:

    PnL = Q @ P                     (N x S; scipy CSR x dense product)
    scan_risk = max(0, max_s -PnL)  MM = scan_risk + contingency(Q)   IM = im_factor * MM

(``contingency(Q)`` is :class:`~offchain.risk.margin.risk_matrix.Contingencies`: ``|Q| @ addon``
for per-position add-ons, plus the netted per-strike / offsetting-futures groups.)

which is exactly :class:`~offchain.risk.margin.risk_matrix.RiskMatrixMargin` for each account
(the tests check it account by account). With a ``static_discount < 1`` the products are
done by a gather (``P[cols] * q``), discount and segment sum (``np.add.reduceat``) instead.
The short-option minimum is applied per account from the short option sizes.

Sharding (:func:`run_sharded`): every account's result depends on its own row only, so the
accounts can be split into row ranges and margined on any
:class:`~zkmargin.executor.Executor` (local process pool, Ray cluster): each worker builds the
engine once (the executor's initializer) and margins its shards; the shards are put back in
order, bit for bit the result of one process. Synthetic accounts are generated in blocks of
:data:`SYNTHETIC_BLOCK` rows, each from its own seed, so a worker makes its own rows and only
the results travel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from offchain.risk.instruments import Future, Option, Perp
from offchain.risk.margin.risk_matrix import (
    Contingencies,
    RiskMatrixConfig,
    preset_config,
    scenario_pnl_matrix,
)
from offchain.risk.market import MarketState
from offchain.risk.valuation import InstrumentTable
from zkmargin.errors import InputError
from zkmargin.executor import Executor

DEFAULT_CHUNK_ACCOUNTS = 32_768  # the (chunk x S) float64 block stays in cache (~9 MB at S = 35)


@dataclass
class BatchResult:
    im: NDArray[np.float64]
    mm: NDArray[np.float64]
    scan_risk: NDArray[np.float64]
    worst_scenario: NDArray[np.int32]


class BatchEngine:
    """Risk-matrix margin for many accounts over one listing (module docstring)."""

    def __init__(
        self,
        instruments: Sequence[Perp | Future | Option],
        market: MarketState,
        config: RiskMatrixConfig | str = "deribit_pm",
    ) -> None:
        self.config = preset_config(config) if isinstance(config, str) else config
        self.instruments = tuple(instruments)
        self.market = market
        self.table = InstrumentTable.build(self.instruments, market)
        scen, pnl = scenario_pnl_matrix(self.config, self.table)
        self.scenarios = scen
        self.pnl = np.ascontiguousarray(pnl.T)  # (n, S)
        self.contingencies = Contingencies(self.config, self.table)
        self.short_option_spot = np.where(self.table.is_option, self.table.spot, 0.0)

    @property
    def n_instruments(self) -> int:
        return self.table.n

    def accounts_matrix(self, indptr: NDArray[np.int64], indices: NDArray[np.int64], sizes: NDArray[np.float64]) -> sp.csr_matrix:
        """Validate CSR arrays (``N+1``, ``nnz``, ``nnz``) into a CSR matrix ``N x n``."""
        indptr = np.asarray(indptr, dtype=np.int64)
        indices = np.asarray(indices, dtype=np.int64)
        sizes = np.asarray(sizes, dtype=np.float64)
        if indptr.ndim != 1 or indptr.size < 2 or indptr[0] != 0 or np.any(np.diff(indptr) < 0):
            raise InputError("accounts.indptr", "must start at 0 and be non-decreasing")
        if indptr[-1] != indices.size or indices.size != sizes.size:
            raise InputError("accounts.indices", "indptr[-1], len(indices) and len(sizes) must agree")
        if indices.size and (indices.min() < 0 or indices.max() >= self.n_instruments):
            raise InputError("accounts.indices", f"instrument index outside [0, {self.n_instruments})")
        if not np.all(np.isfinite(sizes)):
            raise InputError("accounts.sizes", "must be finite")
        n_acc = indptr.size - 1
        mat = sp.csr_matrix((sizes, indices, indptr), shape=(n_acc, self.n_instruments))
        mat.sum_duplicates()
        return mat

    def run(self, accounts: sp.csr_matrix, chunk: int = DEFAULT_CHUNK_ACCOUNTS) -> BatchResult:
        """IM, MM, scan risk and worst scenario per account."""
        cfg = self.config
        n_acc = accounts.shape[0]
        mm = np.empty(n_acc)
        scan = np.empty(n_acc)
        worst = np.empty(n_acc, dtype=np.int32)
        addon_all = np.empty(n_acc)
        for start in range(0, n_acc, chunk):
            stop = min(n_acc, start + chunk)
            lo, hi = accounts.indptr[start], accounts.indptr[stop]
            # a zero-copy CSR view of the chunk's rows
            q = sp.csr_matrix(
                (accounts.data[lo:hi], accounts.indices[lo:hi], accounts.indptr[start : stop + 1] - lo),
                shape=(stop - start, accounts.shape[1]),
            )
            addon_all[start:stop] = self.contingencies.amount(q)
            if cfg.static_discount == 1.0:
                port = q @ self.pnl  # (chunk, S) dense
            else:
                port = self._discounted(q)
            port = np.asarray(port)
            w = np.argmin(port, axis=1)
            worst[start:stop] = w
            scan[start:stop] = np.maximum(0.0, -np.take_along_axis(port, w[:, None], axis=1)[:, 0])
        mm[:] = scan + addon_all
        if cfg.short_option_minimum > 0:
            shorts = accounts.minimum(0.0)  # negative parts
            som = cfg.short_option_minimum * (abs(shorts) @ self.short_option_spot)
            mm = np.maximum(mm, som)
        return BatchResult(im=cfg.im_factor * mm, mm=mm, scan_risk=scan, worst_scenario=worst)

    def _discounted(self, q: sp.csr_matrix) -> NDArray[np.float64]:
        d = self.config.static_discount
        rows = q.shape[0]
        indptr = q.indptr
        g = self.pnl[q.indices] * q.data[:, None]  # (nnz, S)
        np.multiply(g, d, out=g, where=g > 0)
        out = np.zeros((rows, self.pnl.shape[1]))
        nonempty = np.flatnonzero(np.diff(indptr) > 0)
        if nonempty.size:
            out[nonempty] = np.add.reduceat(g, indptr[nonempty], axis=0)
        return out


def synthetic_listing(market: MarketState, n_instruments: int = 200, seed: int = 0) -> list[Perp | Future | Option]:
    """A listing over the market's underlyings: a perp and two futures each, then options on a
    grid of expiries (7 to 180 days) and strikes (0.6x to 1.6x spot), calls and puts."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    unders = sorted(market.spots)
    out: list[Perp | Future | Option] = []
    for u in unders:
        out.append(Perp(symbol=f"{u}-PERP", underlying=u))
        for days in (30, 90):
            out.append(Future(symbol=f"{u}-F{days}", underlying=u, expiry=market.timestamp + days * 86400 + 28800))
    k = 0
    while len(out) < n_instruments:
        u = unders[k % len(unders)]
        days = int(rng.choice([7, 14, 30, 60, 90, 180]))
        mult = float(np.round(rng.uniform(0.6, 1.6), 2))
        strike = float(round(market.spots[u] * mult, -1 if market.spots[u] < 10000 else -2))
        typ = "call" if rng.random() < 0.5 else "put"
        sym = f"{u}-{days}D-{int(strike)}-{typ[0].upper()}"
        if all(i.symbol != sym for i in out):
            out.append(Option(symbol=sym, underlying=u, expiry=market.timestamp + days * 86400 + 28800,
                              strike=strike, option_type=typ))  # type: ignore[arg-type]
        k += 1
    return out


SYNTHETIC_BLOCK = 65_536  # rows of synthetic accounts drawn from one seed


def synthetic_accounts(
    n_accounts: int, n_instruments: int, positions_per_account: int = 5, seed: int = 0, max_size: float = 10.0
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """CSR arrays (indptr, indices, sizes) of random sparse accounts (distinct instruments per
    account, sizes uniform in ``+/-max_size`` rounded to 0.001)."""
    if n_accounts < 1:
        raise InputError("accounts", "need n_accounts >= 1 and 1 <= positions_per_account <= n_instruments")
    return synthetic_accounts_range(0, n_accounts, n_instruments, positions_per_account, seed, max_size)


def synthetic_accounts_range(
    start: int, stop: int, n_instruments: int, positions_per_account: int = 5, seed: int = 0, max_size: float = 10.0
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Rows ``start:stop`` of the synthetic accounts of ``seed`` (the same rows whatever the range):
    block ``b`` of :data:`SYNTHETIC_BLOCK` rows is drawn from ``SeedSequence(seed, spawn_key=(b,))``."""
    k = positions_per_account
    if not 0 <= start < stop or k < 1 or k > n_instruments:
        raise InputError("accounts", "need n_accounts >= 1 and 1 <= positions_per_account <= n_instruments")
    idx = np.empty((stop - start, k), dtype=np.int64)
    sizes = np.empty((stop - start, k))
    for b in range(start // SYNTHETIC_BLOCK, (stop - 1) // SYNTHETIC_BLOCK + 1):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(b,)))
        lo, hi = b * SYNTHETIC_BLOCK, (b + 1) * SYNTHETIC_BLOCK
        # distinct columns per row: k of n by argpartition of random keys
        keys = rng.random((SYNTHETIC_BLOCK, n_instruments), dtype=np.float32)
        cols = np.argpartition(keys, k, axis=1)[:, :k] if k < n_instruments else np.argsort(keys, axis=1)
        vals = np.round(rng.uniform(-max_size, max_size, (SYNTHETIC_BLOCK, k)), 3)
        a, z = max(start, lo), min(stop, hi)
        idx[a - start : z - start] = cols[a - lo : z - lo]
        sizes[a - start : z - start] = vals[a - lo : z - lo]
    idx.sort(axis=1)
    sizes[sizes == 0] = 0.001
    indptr = np.arange(0, (stop - start) * k + 1, k, dtype=np.int64)
    return indptr, idx.ravel(), sizes.ravel()


# ----------------------------------------------------------------------------- sharding

_WORKER: dict[str, Any] = {}


def _init_shard_worker(instruments: Sequence[Perp | Future | Option], market: MarketState,
                       config: RiskMatrixConfig, chunk: int) -> None:
    """Executor initializer: build the engine once per worker."""
    _WORKER["engine"] = BatchEngine(instruments, market, config)
    _WORKER["chunk"] = chunk


def _shard(task: tuple[Any, ...]) -> BatchResult:
    """Margin one shard: ``("synthetic", start, stop, positions, seed)`` or ``("csr", indptr, indices, sizes)``."""
    engine: BatchEngine = _WORKER["engine"]
    if task[0] == "synthetic":
        _, start, stop, positions, seed = task
        indptr, indices, sizes = synthetic_accounts_range(start, stop, engine.n_instruments, positions, seed)
    else:
        _, indptr, indices, sizes = task
    return engine.run(engine.accounts_matrix(indptr, indices, sizes), chunk=_WORKER["chunk"])


def shard_ranges(n_accounts: int, shards: int, align: int = 1) -> list[tuple[int, int]]:
    """``shards`` contiguous row ranges covering ``0:n_accounts`` (boundaries multiples of ``align``)."""
    if shards < 1:
        raise InputError("shards", f"must be at least 1, got {shards}")
    units = -(-n_accounts // align)
    bounds = sorted({min(n_accounts, (units * i // shards) * align) for i in range(shards + 1)})
    return [(a, b) for a, b in pairwise(bounds) if b > a]


def run_sharded(
    engine: BatchEngine,
    executor: Executor,
    shards: int,
    *,
    accounts: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]] | None = None,
    synthetic: tuple[int, int, int] | None = None,
    chunk: int = DEFAULT_CHUNK_ACCOUNTS,
) -> BatchResult:
    """Margin the accounts in ``shards`` row ranges on ``executor``; the same arrays as
    ``engine.run`` on all of them at once. Give CSR ``accounts`` (validated here, then sliced),
    or ``synthetic = (n_accounts, positions_per_account, seed)`` (each worker makes its rows)."""
    if (accounts is None) == (synthetic is None):
        raise InputError("accounts", "give exactly one of accounts and synthetic")
    tasks: list[tuple[Any, ...]]
    if synthetic is not None:
        n, positions, seed = synthetic
        if n < 1 or not 1 <= positions <= engine.n_instruments:
            raise InputError("accounts", "need n_accounts >= 1 and 1 <= positions_per_account <= n_instruments")
        ranges = shard_ranges(n, shards, SYNTHETIC_BLOCK if n >= shards * SYNTHETIC_BLOCK else 1)
        tasks = [("synthetic", a, b, positions, seed) for a, b in ranges]
    else:
        assert accounts is not None
        q = engine.accounts_matrix(*accounts)
        tasks = []
        for a, b in shard_ranges(q.shape[0], shards):
            lo, hi = q.indptr[a], q.indptr[b]
            tasks.append(("csr", q.indptr[a : b + 1] - lo, q.indices[lo:hi], q.data[lo:hi]))
    parts = executor.map(_shard, tasks, initializer=_init_shard_worker,
                         initargs=(engine.instruments, engine.market, engine.config, chunk))
    return BatchResult(
        im=np.concatenate([p.im for p in parts]),
        mm=np.concatenate([p.mm for p in parts]),
        scan_risk=np.concatenate([p.scan_risk for p in parts]),
        worst_scenario=np.concatenate([p.worst_scenario for p in parts]),
    )


__all__ = ["BatchEngine", "BatchResult", "run_sharded", "shard_ranges", "synthetic_accounts",
           "synthetic_accounts_range", "synthetic_listing"]
