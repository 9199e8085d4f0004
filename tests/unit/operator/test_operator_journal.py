"""The operator's database as a journal of transitions settled outside the exchange
(offchain.operator.journal): a batch's fills, fees, funding and cash-out, a takeover and a
close replay from the history to exactly the openings the reference computed."""

from __future__ import annotations

from pathlib import Path

import pytest

from offchain.devnet.batches import NO_SIGNATURE, Party, Trade, prepare_batch, prepare_takeover
from offchain.operator.journal import StoreJournal, transition_entries
from offchain.operator.store import OperatorStore
from prover.statement import Account, Epoch
from prover.transitions import SIDE_BUY, SIDE_SELL, Order, OrderSlot
from zkmargin.errors import InputError

A, B = "0x" + "11" * 20, "0x" + "22" * 20
UNIT = 10**6


def _epoch(eid: int, fund: list[int]) -> Epoch:
    return Epoch.create(eid, 15_000, [30 * UNIT, 20 * UNIT], [[-3 * UNIT, 0, 3 * UNIT], [-2 * UNIT, 0, 2 * UNIT]],
                        [300_001, 200_001], fund)


def _order(who: str, side: int, size: int, salt: int) -> OrderSlot:
    return OrderSlot(Order(int(who, 16), 0, side, 30 * UNIT, size, 2**40, salt, salt), r_after=salt + 1)


def _trade(ep: Epoch, olds: dict[str, Account | None], settled, size: int, salt: int, fee_bps: int = 10):
    ob, os_ = _order(A, SIDE_BUY, size, salt), _order(B, SIDE_SELL, size, salt + 10)
    parties = [Party(A, olds[A], settled, 10_000 * UNIT, salt + 100, (ob,), (NO_SIGNATURE,)),
               Party(B, olds[B], settled, 10_000 * UNIT, salt + 200, (os_,), (NO_SIGNATURE,), cash_out=UNIT if olds[B] else 0)]
    return prepare_batch(ep, fee_bps, parties, [Trade(0, 30 * UNIT, size, A, ob.commitment, B, os_.commitment)], 4, nonce=salt)


def test_batches_with_fees_funding_and_cash_out_replay_exactly(tmp_path: Path) -> None:
    with OperatorStore(tmp_path / "op.sqlite", seed=1, instruments=["P0", "P1"]) as store:
        journal = StoreJournal(store)
        first = _trade(_epoch(1, [0, 0]), {A: None, B: None}, None, 40, 1)
        journal.batch(first, {A: "alice"})
        olds = {p.address: r.new for p, r in zip(first.parties, first.results)}
        # epoch 2 moves the funding index: the next transition settles it, then fills, fees, cash-out
        second = _trade(_epoch(2, [5_000, -700]), olds, (0, 0), 15, 50)
        journal.batch(second)
        for p, res in zip(second.parties, second.results):
            assert store.replay(p.address) == store.openings()[[o.address for o in store.openings()].index(p.address)]
            assert store.replay(p.address).commitment() == res.new.commitment()
        kinds = [h.kind for h in store.history(B)]
        assert kinds == ["fill", "fee", "commit", "funding", "fill", "fee", "cash_out", "commit"]
        assert store.account(A).label == "alice"


def test_takeover_close_and_a_diverged_journal(tmp_path: Path) -> None:
    with OperatorStore(tmp_path / "op.sqlite", seed=1, instruments=["P0", "P1"]) as store:
        journal = StoreJournal(store)
        ep = _epoch(3, [0, 0])
        req, res = prepare_takeover(ep, Party(A, None, None, 10_000 * UNIT, 9), [4, -1], -90 * UNIT, 4)
        assert transition_entries(req, res) == [("takeover", [4, -1], -90 * UNIT)]
        journal.takeover(A, req, res)
        assert store.replay(A).commitment() == res.new.commitment()
        journal.close(A, 4)
        assert store.replay(A) is None and store.account(A).opening is None
        # a journal that missed a transition refuses the next one (the old opening does not match)
        first = _trade(ep, {A: None, B: None}, None, 10, 70)
        journal.batch(first)
        later = _trade(ep, {A: first.results[0].new, B: first.results[1].new}, (0, 0), 5, 80)
        store.record_transition(A, 3, [("cash_out", [0, 0], -1)], Account.create(list(first.results[0].new.q),
                                                                                   first.results[0].new.cash - 1, 5))
        with pytest.raises(InputError, match="is not the new opening"):
            journal.batch(later)


class _FakeProtocol:
    """What adopt_store_openings needs of ``Protocol``: ``adopt`` against the chain's commitments."""

    def __init__(self, chain: dict[str, int]) -> None:
        self.chain, self.book = chain, {}

    def adopt(self, opening) -> bool:  # type: ignore[no-untyped-def]
        if self.chain.get(opening.address, 0) != opening.commitment():
            return False
        self.book[opening.address] = opening
        return True


def test_the_prover_and_keeper_adopt_what_the_settler_settled(tmp_path: Path) -> None:
    from offchain.operator.journal import adopt_store_openings

    assert adopt_store_openings(_FakeProtocol({}), tmp_path) == 0  # no database: nothing
    with OperatorStore(tmp_path / "operator.sqlite", seed=1, instruments=["P0", "P1"]) as store:
        batch = _trade(_epoch(1, [0, 0]), {A: None, B: None}, None, 40, 1)
        StoreJournal(store).batch(batch)
    new_a, new_b = (r.new for r in batch.results)
    fake = _FakeProtocol({A: new_a.commitment(), B: 12345})  # B moved on since: not taken
    assert adopt_store_openings(fake, tmp_path) == 1 and set(fake.book) == {A}
    assert fake.book[A].commitment() == new_a.commitment() and new_b.commitment() != 12345
