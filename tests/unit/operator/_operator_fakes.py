"""An in-memory chain for the settler's unit tests, and helpers to make signed orders and fills.

:class:`FakeChain` does what ``Settlement.settle`` and ``MarginAccounts.applyTransition`` do with
a batch, in the same order and all or nothing: the epoch and replay checks, sorted accounts, each
order's EIP-712 signature by its account (recovered with ``offchain.trading.signing``), each
account's starting commitment, liquidation flag and collateral, then the transition's public
inputs, built as the contract builds them (the on-chain order states, the account's settled
funding digest), which must have been allowed on its mock verifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account as EthAccount

from offchain.operator.chain import Receipt
from offchain.operator.errors import SubmitReverted
from offchain.operator.store import OperatorStore
from offchain.trading.orders import Order, Side
from offchain.trading.signing import OrderSignature, recover_signer, sign_order
from prover.field import R
from prover.statement import Epoch

CHAIN_ID = 31337
SETTLEMENT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
MARKS = [30_000_000, 20_000_000]
PNL = [[-3_000_000, 0, 3_000_000], [-2_500_000, 0, 2_500_000]]
ADDONS = [300_001, 200_001]
IM_BPS = 15_000
KEYS = ["0x" + f"{k + 1:02x}" * 32 for k in range(6)]
TRADERS = [EthAccount.from_key(k).address for k in KEYS]
UNIT = 10**6


def epoch(epoch_id: int = 1, funding: Sequence[int] | None = None, marks: Sequence[int] = MARKS) -> Epoch:
    return Epoch.create(epoch_id, IM_BPS, list(marks), PNL, ADDONS, funding)


class Crash(BaseException):
    """The process 'dies' here (a BaseException, so no ``except Exception`` catches it)."""


@dataclass
class FakeChain:
    """See the module docstring. ``refuse`` makes the next ``submit`` calls revert with the given
    reasons; ``crash_after_send`` applies the next batch, then raises :class:`Crash`."""

    fee: int = 5
    epochs: dict[int, Epoch] = field(default_factory=dict)
    current: int = 0
    commitments: dict[str, int] = field(default_factory=dict)
    settled_epoch: dict[str, int] = field(default_factory=dict)
    balances: dict[str, int] = field(default_factory=dict)
    liquidating: set[str] = field(default_factory=set)
    tables: set[int] = field(default_factory=set)
    states: dict[int, int] = field(default_factory=dict)
    allowed: set[tuple[int, ...]] = field(default_factory=set)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    refuse: list[str] = field(default_factory=list)
    crash_after_send: bool = False
    submits: int = 0
    block: int = 0
    _digests: dict[int, tuple[int, int]] = field(default_factory=dict)

    def post(self, ep: Epoch) -> None:
        self.epochs[ep.epoch_id] = ep
        self._digests[ep.epoch_id] = (ep.digest(), ep.funding_digest())
        self.current = ep.epoch_id

    # --- SettlementChain ----------------------------------------------------------------------
    def epoch_id(self) -> int:
        return self.current

    def epoch(self, epoch_id: int) -> Epoch:
        return self.epochs[epoch_id]

    def commitment_of(self, account: str) -> int:
        return self.commitments.get(account, 0)

    def balance_of(self, account: str) -> int:
        return self.balances.get(account, 0)

    def in_liquidation(self, account: str) -> bool:
        return account in self.liquidating

    def batch_settled(self, fill_table: int) -> bool:
        return fill_table in self.tables

    def order_state(self, order: int) -> int:
        return self.states.get(order, 0)

    def fee_bps(self) -> int:
        return self.fee

    def wait_idle(self) -> None:
        return None

    def allow_statement(self, inputs: Sequence[int]) -> None:
        self.allowed.add(tuple(int(x) for x in inputs))

    def submit(self, batch: tuple[Any, ...]) -> Receipt:
        self.submits += 1
        if self.refuse:
            raise SubmitReverted(self.refuse.pop(0))
        epoch_id, table, fee_total, entries = batch
        if epoch_id != self.current:
            raise SubmitReverted(f"Settlement_WrongEpoch({epoch_id}, {self.current})")
        if table in self.tables:
            raise SubmitReverted(f"Settlement_BatchReplayed({table})")
        digest = self._digests[self.current][0]
        n = self.epochs[self.current].n
        prev = 0
        updates: list[tuple[str, int, list[tuple[int, int, int]]]] = []
        for i, (account, old, new, collateral, cash_out, fresh, orders, _proof) in enumerate(entries):
            if int(account, 16) <= prev:
                raise SubmitReverted(f"Settlement_AccountsNotSorted({i})")
            prev = int(account, 16)
            used = []
            for j, (o, s_new, sig) in enumerate(orders):
                if o == 0:
                    used.append((0, 0, 0))
                    continue
                signature = OrderSignature(sig[0], int.from_bytes(sig[1], "big"), int.from_bytes(sig[2], "big"))
                if recover_signer(o, signature, CHAIN_ID, SETTLEMENT) != account:
                    raise SubmitReverted(f"Settlement_BadOrderSignature({i}, {j})")
                used.append((o, self.states.get(o, 0), s_new))
            if self.commitments.get(account, 0) != old:
                raise SubmitReverted(f"Accounts_StaleCommitment({account})")
            if account in self.liquidating:
                raise SubmitReverted(f"Accounts_InLiquidation({account})")
            if collateral > self.balances.get(account, 0) + cash_out:
                raise SubmitReverted("Accounts_CollateralAboveBalance")
            fd = self._digests[self.settled_epoch[account] if old else self.current][1]
            inputs = [old, new, digest, fd, int(account, 16), collateral, cash_out % R, table, i, len(entries),
                      self.fee, fee_total, int(fresh)]
            for o, s_old, s_new in used:
                inputs += [o, s_old, s_new]
            inputs += [0] * (n + 1)
            if tuple(inputs) not in self.allowed:
                raise SubmitReverted("Accounts_InvalidProof")
            updates.append((account, new, used))
        self.block += 1
        self.tables.add(table)
        for account, new, used in updates:
            self.commitments[account] = new
            self.settled_epoch[account] = self.current
            for o, s_old, s_new in used:
                if o:
                    self.states[o] = s_new
                    self.events.append(("OrderFilled", o, account, s_old, s_new))
        self.events.append(("BatchSettled", self.current, table, len(entries), fee_total))
        if self.crash_after_send:
            self.crash_after_send = False
            raise Crash("after send")
        return Receipt(f"0x{self.block:064x}", self.block, 1)


class Orders:
    """Signed orders of the test traders, recorded in a store (fixed salts, increasing nonces)."""

    def __init__(self, store: OperatorStore) -> None:
        self.store = store
        self.nonce = 0

    def __call__(self, who: int, instrument: int, side: Side, price: int, size: int) -> int:
        self.nonce += 1
        order = Order.create(trader=TRADERS[who], instrument=instrument, side=side, limit_price=price, size=size,
                             expiry=2**40, nonce=self.nonce, salt=1_000 + self.nonce)
        return self.store.add_order(order, sign_order(order, KEYS[who], CHAIN_ID, SETTLEMENT))


def trade(store: OperatorStore, orders: Orders, buyer: int, seller: int, instrument: int, price: int, size: int,
          buy_limit: int | None = None, sell_limit: int | None = None, buy_size: int | None = None,
          sell_size: int | None = None) -> tuple[int, int, int]:
    """Two fresh orders and their fill; returns (fill id, buy order, sell order)."""
    bo = orders(buyer, instrument, Side.BUY, buy_limit or price, buy_size or size)
    so = orders(seller, instrument, Side.SELL, sell_limit or price, sell_size or size)
    return store.add_fill(instrument, price, size, bo, so), bo, so
