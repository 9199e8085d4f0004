"""Gas of ``Settlement.settle`` per settled fill, with real transition proofs.

Used by ``tests/devnet/test_transitions_real_verifier.py`` (the "Settlement: gas per settled
fill" section of ``gas/gas-report.md``) and ``bench/bench_settlement_gas.py``. Two batch shapes:

* ``maker``: one resting sell order filled by ``N`` takers, one lot each (``N`` fills,
  ``N + 1`` accounts, so ``N + 1`` transition proofs): a sweep of the book, the common case of a
  central limit order book, and the cheapest per fill, since each fill adds one account;
* ``pairs``: ``N`` disjoint maker/taker pairs (``N`` fills, ``2N`` accounts and proofs): the
  worst case, every fill between two accounts seen nowhere else in the batch.

Every account of a batch proves its own transition (one ``verifyProof`` each), so the gas of a
batch is about linear in its accounts, not in its fills; the figures are per batch, per fill and
per account ("party"). Accounts are "new" on their first settlement (their commitment slot goes
from zero to non-zero) and "open" afterwards (the steady state of a trading account).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from offchain.devnet.batches import Party, PreparedBatch, Signature, Trade, prepare_batch
from offchain.trading.signing import sign_commitment
from prover.statement import Account, Epoch
from prover.transition_api import TransitionKeys, load_transition_keys, prove_transitions
from prover.transitions import SIDE_BUY, SIDE_SELL, Order, OrderSlot, TransitionRequest
from zkmargin.errors import InputError

SHAPES = ("maker", "pairs")
#: order expiry far in the future (the orders of a measurement never expire)
EXPIRY = 2**40


@dataclass(frozen=True)
class GasRow:
    """One settled batch: its shape, whether its accounts were new, its size and its gas."""

    shape: str
    accounts: str  # "new", "open" or "mixed"
    fills: int
    parties: int
    batch_gas: int

    @property
    def per_fill(self) -> int:
        return self.batch_gas // self.fills

    @property
    def per_party(self) -> int:
        return self.batch_gas // self.parties

    @property
    def name(self) -> str:
        return f"{self.shape}, {self.accounts} accounts, {self.fills} fills"

    def as_json(self) -> dict[str, Any]:
        return {"shape": self.shape, "accounts": self.accounts, "fills": self.fills, "parties": self.parties,
                "batch_gas": self.batch_gas, "per_fill": self.per_fill, "per_party": self.per_party}


def _sig(s: Any) -> Signature:
    return (int(s.v), int(s.r).to_bytes(32, "big"), int(s.s).to_bytes(32, "big"))


class SettlementGasRun:
    """Settle measured batches on deployment ``d`` in its current epoch ``epoch`` (which must be
    the statement epoch posted on chain), proving every transition with ``keys``.

    ``prove`` replaces the default prover (``prove_transitions`` with ``keys``, in this process)."""

    def __init__(self, d: Any, epoch: Epoch, keys: TransitionKeys, sender: Any,
                 prove: Callable[[Sequence[TransitionRequest]], list[list[int]]] | None = None,
                 instrument: int = 0) -> None:
        if (epoch.n, epoch.s) != (keys.n, keys.s):
            raise InputError("epoch", f"has n={epoch.n}, S={epoch.s}; the keys are for n={keys.n}, S={keys.s}")
        if not 0 <= instrument < epoch.n:
            raise InputError("instrument", f"{instrument} is not listed (n={epoch.n})")
        self.d = d
        self.epoch = epoch
        self.keys = keys
        self.sender = sender
        self.instrument = instrument
        self.price = int(epoch.marks[instrument])
        self._prove = prove or (lambda reqs: prove_transitions(list(reqs), keys))
        self.books: dict[str, Account] = {}  # address -> the opening of its commitment on chain
        self._nonce = 0
        self.proofs_made = 0

    def _next(self) -> int:
        self._nonce += 1
        return self._nonce

    def _order(self, user: Any, side: int, size: int) -> OrderSlot:
        n = self._next()
        order = Order(int(str(user.address), 16), self.instrument, side, self.price, size, EXPIRY, n, 1_000 + n)
        return OrderSlot(order, r_after=2_000 + n)

    def _party(self, user: Any, slots: Sequence[OrderSlot]) -> Party:
        addr = str(user.address)
        settlement = str(self.d.settlement.address)
        sigs = tuple(_sig(sign_commitment(s.commitment, user.private_key, int(self.d.chain_id), settlement))
                     for s in slots)
        old = self.books.get(addr)
        return Party(addr, old, tuple(self.epoch.fund) if old is not None else None, int(self.d.vault.balanceOf(user)),
                     3_000 + self._next(), tuple(slots), sigs)

    def batch(self, shape: str, makers: Sequence[Any], takers: Sequence[Any]) -> PreparedBatch:
        """The batch of ``len(takers)`` one-lot fills in ``shape`` (``maker``: ``makers[0]`` sells
        to every taker; ``pairs``: ``makers[i]`` sells to ``takers[i]``)."""
        if shape not in SHAPES:
            raise InputError("shape", f"must be one of {', '.join(SHAPES)}, got {shape!r}")
        n = len(takers)
        if n == 0:
            raise InputError("takers", "at least one")
        sellers = [makers[0]] * n if shape == "maker" else list(makers[:n])
        if len(sellers) != n:
            raise InputError("makers", f"the pairs shape needs {n} makers, got {len(makers)}")
        parties: list[Party] = []
        trades: list[Trade] = []
        if shape == "maker":
            ask = self._order(makers[0], SIDE_SELL, n)
            parties.append(self._party(makers[0], [ask]))
            asks = [ask] * n
        else:
            asks = [self._order(m, SIDE_SELL, 1) for m in sellers]
            parties += [self._party(m, [a]) for m, a in zip(sellers, asks)]
        for taker, seller, ask in zip(takers, sellers, asks):
            bid = self._order(taker, SIDE_BUY, 1)
            parties.append(self._party(taker, [bid]))
            trades.append(Trade(self.instrument, self.price, 1, str(taker.address), bid.commitment, str(seller.address),
                                ask.commitment))
        return prepare_batch(self.epoch, int(self.d.settlement.feeBps()), parties, trades, self.keys.k,
                             nonce=self._next())

    def settle(self, batch: PreparedBatch) -> Any:
        """Prove and settle ``batch``; returns the receipt."""
        proofs = self._prove(batch.requests)
        self.proofs_made += len(proofs)
        receipt = self.d.settlement.settle(batch.contract_batch(proofs), sender=self.sender)
        for party, res in zip(batch.parties, batch.results):
            self.books[party.address] = res.new
        return receipt

    def measure(self, shape: str, makers: Sequence[Any], takers: Sequence[Any]) -> GasRow:
        """Settle one batch of ``len(takers)`` fills in ``shape``; its gas."""
        batch = self.batch(shape, makers, takers)
        known = [p.old is not None for p in batch.parties]
        accounts = "open" if all(known) else "new" if not any(known) else "mixed"
        receipt = self.settle(batch)
        return GasRow(shape, accounts, len(batch.trades), len(batch.parties), int(receipt.gas_used))


def _prove_task(task: tuple[str, int, int, int, TransitionRequest]) -> list[int]:
    root, n, s, k, req = task
    return prove_transitions([req], load_transition_keys(root, n, s, k))[0]


def executor_prover(executor: Any, keys: TransitionKeys) -> Callable[[Sequence[TransitionRequest]], list[list[int]]]:
    """A ``prove`` for :class:`SettlementGasRun` that proves each request on ``executor`` (a
    ``zkmargin.executor.Executor``; each worker loads the keys once)."""
    root = str(keys.directory.parent)

    def prove(reqs: Sequence[TransitionRequest]) -> list[list[int]]:
        return list(executor.map(_prove_task, [(root, keys.n, keys.s, keys.k, r) for r in reqs]))

    return prove


def post_statement_epoch(d: Any, owner: Any, epoch: Epoch, timestamp: int) -> Any:
    """Post ``epoch`` (a ``prover.statement.Epoch``) on chain as it is, at ``timestamp`` (the
    oracle must have reported at least one round)."""
    flat = [x for row in epoch.scenario_pnl for x in row]
    rnd = int(d.oracle.globalRound())
    return d.epochs.postEpoch((epoch.epoch_id, rnd, timestamp, epoch.im_factor_bps, epoch.s, list(epoch.marks), flat,
                               list(epoch.addons), list(epoch.fund), epoch.digest(), epoch.funding_digest()),
                              sender=owner)
