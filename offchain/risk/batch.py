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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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


def synthetic_accounts(
    n_accounts: int, n_instruments: int, positions_per_account: int = 5, seed: int = 0, max_size: float = 10.0
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """CSR arrays (indptr, indices, sizes) of random sparse accounts (distinct instruments per
    account, sizes uniform in ``+/-max_size`` rounded to 0.001)."""
    if n_accounts < 1 or positions_per_account < 1 or positions_per_account > n_instruments:
        raise InputError("accounts", "need n_accounts >= 1 and 1 <= positions_per_account <= n_instruments")
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    k = positions_per_account
    # distinct columns per row: sample k of n via argpartition of random keys in blocks
    idx = np.empty((n_accounts, k), dtype=np.int64)
    block = 65536
    for s in range(0, n_accounts, block):
        e = min(n_accounts, s + block)
        keys = rng.random((e - s, n_instruments), dtype=np.float32)
        idx[s:e] = np.argpartition(keys, k, axis=1)[:, :k]
    idx.sort(axis=1)
    sizes = np.round(rng.uniform(-max_size, max_size, (n_accounts, k)), 3)
    sizes[sizes == 0] = 0.001
    indptr = np.arange(0, n_accounts * k + 1, k, dtype=np.int64)
    return indptr, idx.ravel(), sizes.ravel()


__all__ = ["BatchEngine", "BatchResult", "synthetic_accounts", "synthetic_listing"]
