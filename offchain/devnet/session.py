"""A deployed zkmargin protocol and its off-chain roles, as one Python object.

This is the public API for integration tests (ours and other projects'), the ape scripts and
the demo::

    from offchain.devnet.session import Protocol
    p = Protocol.deploy(owner, listing, reporters=[owner], zk_dir=".build/zk")
    p.report_prices({"BTC": 43_000, "ETH": 3_400})      # oracle keeper: signed EIP-712 report(s)
    p.post_epoch(vols={"BTC": 0.8, "ETH": 0.9})          # risk keeper: epoch built by offchain.risk.epoch
    p.open_account(alice, {"BTC-PERP": 500}, deposit_units=10_000 * 10**6)   # deposit, buy from the house
    p.trade(alice, bob, "BTC-PERP", 200)                 # alice buys 200 lots from bob at the mark
    p.prove_all()                                        # prover: MM proofs for the current epoch
    p.cash_out(bob, 100 * 10**6); p.withdraw(bob, 100 * 10**6)   # realized profit leaves the vault
    p.advance(p.grace_period_seconds + 1)
    p.keeper(liquidator).run(until_idle=True)            # liquidation keeper

Every commitment change is a settled batch (``Settlement.settle``): each account in it proves its
transition from its previous commitment (docs/ARCHITECTURE.md, "State transitions"), its orders
signed by its own key (EIP-712). An account opens by buying its book from the **house**, the
operator's market-making account (a key derived from ``seed``, funded as its margin needs), at
the epoch's marks; :meth:`Protocol.trade` settles fills between any two accounts.

Roles: ``owner`` deploys and is the risk keeper and the operator that settles batches and submits
MM proofs; users sign their orders and their withdrawals; ``reporters`` sign oracle reports
(their private keys come from ape test accounts). All money is in collateral base units (6
decimals).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import TypeAdapter

from offchain.devnet.chain_epochs import ChainEpochs
from offchain.devnet.deploy import DEFAULT_FEEDS, Deployment, FeedParams, deploy_protocol, feed_id
from offchain.devnet.keepers.liquidation import KeeperPolicy, LiquidationKeeper
from offchain.devnet.manifest import write_json_atomic
from offchain.devnet.operator import AccountBook, PrivateAccount, lots_vector, salt_from_seed
from offchain.devnet.packing import MAX_ORDERS_PER_ACCOUNT, Leg, pack_groups, pack_legs
from offchain.mirror.model import SKIP_REASONS
from offchain.mirror.oracle import PriceReport, sign_report, to_price_units
from offchain.mirror.vault import shares_for_deposit, units_of
from offchain.risk.epoch import RiskEpoch, build_epoch
from offchain.risk.instruments import AnyInstrument
from offchain.risk.instruments import Instrument as InstrumentModel
from offchain.risk.market import MarketState
from prover.statement import KIND_IM, KIND_INSOLVENCY, KIND_MM, Account
from zkmargin.errors import DevnetError, InputError, ZkMarginError

Instrument = AnyInstrument
STATE_VERSION = 2
#: the house's label in the operator's book
HOUSE_LABEL = "house (market maker)"
#: the house keeps this multiple of its initial margin as its public balance
HOUSE_MARGIN_MULTIPLE = 4
#: how long the orders the session signs stay valid (seconds)
ORDER_TTL_SECONDS = 86_400
#: the house's ape test-account index (far from the mnemonic's own and the generated ones)
HOUSE_INDEX = 100_000
#: proofs per ``submitProofs`` transaction
PROOF_BATCH = 16


class NotProvable(ZkMarginError):
    """The statement does not hold for the account, so no proof can be made."""

    def __init__(self, account: str, kind: int, equity: int, requirement: int) -> None:
        self.account, self.kind, self.equity, self.requirement = account, kind, equity, requirement
        super().__init__(f"account {account}: kind {kind} statement does not hold (equity {equity} < requirement {requirement})")


def _verifier_for(owner: Any, keys: Any, name: str | None = None) -> Any:
    """Deploy the Groth16 verifier of ``keys``: the committed ``contracts/verifiers/<name>.sol``
    (default ``SolvencyVerifierN{n}S{s}``) if it matches the keys, else one generated from the
    verification key and compiled now."""
    from ape import compilers, project

    from prover.solidity import generate_verifier

    name = name or f"SolvencyVerifierN{keys.n}S{keys.s}"
    source = generate_verifier(keys.vk, name)
    committed = Path(project.path) / "contracts" / "verifiers" / f"{name}.sol"
    if committed.exists() and committed.read_text() == source:
        return getattr(project, name).deploy(sender=owner)
    container = compilers.compile_source("solidity", source, contractName=name)
    return container.deploy(sender=owner)


@dataclass
class Protocol:
    """A deployment plus the state the off-chain roles keep (see the module docstring)."""

    d: Deployment
    listing: list[Instrument]
    keys: Any  # prover.api.SolvencyKeys
    book: AccountBook
    reporter_keys: list[str]
    #: the transition keys (``prover.transition_api.TransitionKeys``: n, S and K fill slots)
    tkeys: Any = None
    #: the trading fee per side (bps of the fill's value), as the settlement module holds it
    fee_bps: int = 0
    risk_config: Any = "deribit_pm"
    grace_period_seconds: int = 3_600
    seed: int = 0
    epoch: RiskEpoch | None = None
    spots: dict[str, float] = field(default_factory=dict)
    market_timestamp: int | None = None
    #: where proofs are made (a ``zkmargin.executor.Executor``); default: a local pool whose
    #: workers stay warm (keys loaded, circuit built) from one epoch to the next
    prover: Any = None
    #: where settled transitions are journaled (e.g. ``offchain.operator.journal.StoreJournal``
    #: over the operator's SQLite database): ``journal.batch(prepared_batch, labels)`` after each
    #: settled batch; None: the book only
    journal: Any = None
    #: what the journal refused (the book and the chain are right; the database needs attention)
    journal_errors: list[str] = field(default_factory=list)
    #: accounts and seconds of the latest ``prove_all`` (its accounts per second)
    last_proving: tuple[int, float] = (0, 0.0)
    _salts: np.random.SeedSequence | None = None
    #: order signers by address (ape accounts: their private keys sign EIP-712 orders)
    _signers: dict[str, Any] = field(default_factory=dict)
    _house: Any = None
    _chain_epochs: ChainEpochs | None = None
    #: every opening this session made, by commitment: the book follows the chain even when the
    #: chain is rolled back under it (ape's test isolation restores snapshots between tests)
    _openings: dict[int, PrivateAccount] = field(default_factory=dict)
    #: a block of the chain the deployment lives on (number, hash), so a saved state can tell
    #: a restarted node (same chain id, contracts gone) from its own chain
    anchor: tuple[int, str] | None = None

    # --- deployment -----------------------------------------------------------------------
    @classmethod
    def deploy(
        cls,
        owner: Any,
        listing: Sequence[Instrument],
        *,
        zk_dir: str | Path,
        reporters: Sequence[Any] | None = None,
        threshold: int = 1,
        risk_config: Any = "deribit_pm",
        grace_period_seconds: int = 3_600,
        auction: Any = None,
        feed_params: FeedParams | None = None,
        seed: int = 0,
        zk_seed: str = "zkmargin-devnet",
        fee_bps: int = 0,
        fill_slots: int | None = None,
    ) -> Protocol:
        """Deploy every contract with the real Groth16 verifiers: solvency for ``(len(listing), S)``
        and transitions for ``(len(listing), S, K)`` (``fill_slots``, default
        ``prover.transitions.DEFAULT_FILL_SLOTS``); ``fee_bps`` is the trading fee per side."""
        from prover.api import devnet_setup
        from prover.transition_api import transition_setup
        from prover.transitions import DEFAULT_FILL_SLOTS

        if not listing:
            raise InputError("listing", "no instruments")
        if not 0 <= fee_bps < 10_000:
            raise InputError("fee_bps", f"must be in [0, 10000), got {fee_bps}")
        underlyings = sorted({i.underlying for i in listing})
        feeds = tuple(f"{u}/USD" for u in underlyings)
        n_scenarios = cls._scenario_count(listing, risk_config)
        keys = devnet_setup(len(listing), n_scenarios, zk_dir, seed=zk_seed)
        tkeys = transition_setup(len(listing), n_scenarios, fill_slots or DEFAULT_FILL_SLOTS, zk_dir)
        verifier = _verifier_for(owner, keys)
        transition_verifier = _verifier_for(owner, tkeys, tkeys.verifier_name)
        reps = list(reporters or [owner])
        d = deploy_protocol(
            owner, reps, threshold=threshold, feeds=feeds or DEFAULT_FEEDS, feed_params=feed_params,
            verifier=verifier, transition_verifier=transition_verifier, grace_period_seconds=grace_period_seconds,
            auction=auction, fee_bps=fee_bps,
        )
        book = AccountBook(instruments=[i.symbol for i in listing])
        return cls(
            d=d, listing=list(listing), keys=keys, book=book, tkeys=tkeys, fee_bps=fee_bps,
            reporter_keys=[_private_key(r) for r in reps], risk_config=risk_config,
            grace_period_seconds=grace_period_seconds, seed=seed, _salts=np.random.SeedSequence(seed),
        )

    @staticmethod
    def _scenario_count(listing: Sequence[Instrument], risk_config: Any) -> int:
        from offchain.risk.margin.risk_matrix import ScenarioSet, preset_config

        cfg = preset_config(risk_config) if isinstance(risk_config, str) else risk_config
        return ScenarioSet(cfg, tuple(sorted({i.underlying for i in listing}))).size

    # --- persistence (so separate ape scripts can share one deployment) ------------------
    def save(self, state_dir: Path) -> None:
        """Write ``deployment.json`` (addresses and settings), ``book.json`` and the latest epoch."""
        from offchain.devnet.deploy import write_registry
        from offchain.risk.epoch import instrument_json

        state_dir = Path(state_dir)
        cfg = self.risk_config.model_dump(mode="json") if hasattr(self.risk_config, "model_dump") else self.risk_config
        if self.anchor is None:
            head = self.chain.blocks.head
            self.anchor = (int(head.number), _hex(head.hash))
        write_json_atomic(state_dir / "deployment.json", {
            "version": STATE_VERSION,
            "chain_id": self.d.chain_id,
            "owner": str(self.d.owner.address),
            "contracts": self.d.addresses(),
            "listing": [instrument_json(i) for i in self.listing],
            "risk_config": cfg,
            "grace_period_seconds": self.grace_period_seconds,
            "seed": self.seed,
            "zk": {"dir": str(self.keys.directory.parent), "n": self.keys.n, "s": self.keys.s,
                   "fill_slots": self.tkeys.k},
            "fee_bps": self.fee_bps,
            "salts_spawned": self._salts.n_children_spawned if self._salts is not None else 0,
            "reported": sorted(self.spots),
            "verifier_type": str(self.d.verifier.contract_type.name),
            "transition_verifier_type": str(self.d.transition_verifier.contract_type.name),
            "anchor_block": {"number": self.anchor[0], "hash": self.anchor[1]},
        })
        self.book.save(state_dir / "book.json")
        if self.epoch is not None:
            self.epoch.write(str(state_dir / "epochs" / f"epoch-{self.epoch.epoch_id}.json"))
        write_registry(state_dir / "registry.json", self.d)

    @classmethod
    def attach(cls, state_dir: Path, owner: Any, reporters: Sequence[Any] | None = None) -> Protocol:
        """Reconnect to a deployment saved by :meth:`save` on the connected chain."""
        from ape import project

        from offchain.risk.epoch import load_epoch
        from offchain.risk.margin.risk_matrix import RiskMatrixConfig
        from offchain.validation import load_json
        from prover.api import load_keys
        from prover.transition_api import load_transition_keys

        state_dir = Path(state_dir)
        path = state_dir / "deployment.json"
        if not path.exists():
            raise InputError(str(path), "no deployment here (run `ape run deploy` first)")
        obj = load_json(str(path), field="deployment")
        if obj.get("version") != STATE_VERSION:
            raise InputError(f"{path}.version", f"expected {STATE_VERSION}, got {obj.get('version')!r}")
        anchor = _check_same_chain(path, obj)
        addrs = obj["contracts"]
        names = {"token": "MockStablecoin", "vault": "CollateralVault", "oracle": "PriceOracle", "epochs": "RiskEpochs",
                 "accounts": "MarginAccounts", "liquidation": "Liquidation", "poseidon": "PoseidonSponge",
                 "settlement": "Settlement"}
        if "topups" in addrs:  # the top-up module (deployments saved before it existed have none)
            names["topups"] = "TopUpAuthorizations"
        try:
            contracts = {k: getattr(project, v).at(addrs[k]) for k, v in names.items()}
        except Exception as exc:  # ape raises ContractNotFoundError & co for a wrong chain or address
            raise DevnetError(f"cannot attach to the contracts in {path}: {exc}") from exc
        zk = obj["zk"]
        keys = load_keys(zk["dir"], int(zk["n"]), int(zk["s"]))
        tkeys = load_transition_keys(zk["dir"], int(zk["n"]), int(zk["s"]), int(zk["fill_slots"]))
        verifier = _verifier_at(addrs["verifier"], str(obj.get("verifier_type", "")))
        tverifier = _verifier_at(addrs["transition_verifier"], str(obj.get("transition_verifier_type", "")))
        d = Deployment(chain_id=int(obj["chain_id"]), owner=owner, verifier=verifier, transition_verifier=tverifier,
                       **contracts)
        listing = TypeAdapter(list[InstrumentModel]).validate_python(
            [{**i, "lot_size": float(i["lot_size"])} for i in obj["listing"]]
        )
        cfg = obj["risk_config"]
        risk_config = RiskMatrixConfig.model_validate(cfg) if isinstance(cfg, dict) else cfg
        salts = np.random.SeedSequence(int(obj["seed"]))
        salts.spawn(int(obj.get("salts_spawned", 0)))  # never reuse a salt after a restart
        p = cls(d=d, listing=list(listing), keys=keys, tkeys=tkeys, fee_bps=int(obj["fee_bps"]),
                book=AccountBook.load(state_dir / "book.json"),
                reporter_keys=[_private_key(r) for r in (reporters or [owner])], risk_config=risk_config,
                grace_period_seconds=int(obj["grace_period_seconds"]), seed=int(obj["seed"]), _salts=salts,
                anchor=anchor)
        current = int(d.epochs.currentEpochId())
        epoch_file = state_dir / "epochs" / f"epoch-{current}.json"
        if current and epoch_file.exists():
            p.epoch = load_epoch(str(epoch_file))
        for u in obj.get("reported", []):
            p.spots[u] = int(d.oracle.latestRound(feed_id(f"{u}/USD")).answer) / 10**8
        return p

    # --- chain time -----------------------------------------------------------------------
    @property
    def chain(self) -> Any:
        from ape import chain

        return chain

    def now(self) -> int:
        return int(self.chain.blocks.head.timestamp)

    def advance(self, seconds: int) -> None:
        """Move chain time forward by ``seconds`` and mine a block (anvil RPC, so it also works
        through a plain node URL)."""
        provider = self.chain.provider
        provider.make_request("evm_setNextBlockTimestamp", [self.now() + int(seconds)])
        provider.make_request("evm_mine", [])

    # --- oracle keeper --------------------------------------------------------------------
    def report_prices(self, prices: dict[str, float], observed_at: int | None = None) -> int:
        """Sign and submit one report per underlying; return the oracle's global round."""
        d = self.d
        ts = self.now() if observed_at is None else int(observed_at)
        for underlying, usd in sorted(prices.items()):
            fid = feed_id(f"{underlying}/USD")
            rnd = self._next_round(underlying)
            report = PriceReport(fid, rnd, to_price_units(usd), ts)
            sigs = sign_report(report, self.reporter_keys, int(self.chain.chain_id), str(d.oracle.address))
            d.oracle.submitReport(report.as_tuple(), sigs, sender=d.owner)
            self.spots[underlying] = float(usd)
        return int(d.oracle.globalRound())

    def _next_round(self, underlying: str) -> int:
        """The next round of ``underlying``'s feed (the oracle's own count once it has data)."""
        if underlying not in self.spots:
            return 1  # no report through this object yet: the feed's first round
        fid = feed_id(f"{underlying}/USD")
        # a report refused by the deviation breaker burns its round: never sign it again
        refused = int(self.d.oracle.breakerFloor(fid).refusedRound)
        return max(int(self.d.oracle.latestRound(fid).roundId), refused) + 1

    # --- risk keeper ----------------------------------------------------------------------
    def market(self, vols: dict[str, float], rate: float = 0.0, timestamp: int | None = None) -> MarketState:
        """The market state the epoch is built from: the last reported spots, ``vols`` per underlying."""
        missing = sorted({i.underlying for i in self.listing} - set(self.spots))
        if missing:
            raise InputError("prices", f"no reported price for {missing}")
        ts = timestamp if timestamp is not None else (self.market_timestamp or self.now())
        return MarketState.model_validate({"timestamp": ts, "rate": rate, "spots": dict(self.spots), "default_vol": dict(vols)})

    def post_epoch(self, vols: dict[str, float], rate: float = 0.0, market_timestamp: int | None = None,
                   funding: Sequence[int] | None = None) -> RiskEpoch:
        """Build the next epoch from the latest oracle round and post it (digest and data).
        ``funding`` is the cumulative funding index per listed instrument (base units per lot,
        e.g. ``offchain.trading.funding.FundingKeeper.advance``); default: the previous epoch's
        (no funding accrues)."""
        d = self.d
        epoch_id = int(d.epochs.currentEpochId()) + 1
        oracle_round = int(d.oracle.globalRound())
        market = self.market(vols, rate, market_timestamp)
        if funding is None and self.epoch is not None:
            funding = self.epoch.fund
        epoch = build_epoch(market, self.listing, self.risk_config, epoch_id=epoch_id, oracle_round=oracle_round,
                            timestamp=self.now(), linearize=True, funding=funding)
        flat = [x for row in epoch.scenario_pnl for x in row]
        st = epoch.statement()
        d.epochs.postEpoch(
            (epoch.epoch_id, epoch.oracle_round, epoch.timestamp, epoch.im_factor_bps, epoch.s,
             list(epoch.marks), flat, list(epoch.addons), list(epoch.fund), epoch.digest, st.funding_digest()),
            sender=d.owner,
        )
        self.epoch = epoch
        self._prove_house()
        return epoch

    def _prove_house(self) -> None:
        """The operator keeps its own market-making account proven: an MM proof of the house in
        every new epoch (it is never left to lapse into a liquidation)."""
        if self._house is None and not any(a.label == HOUSE_LABEL for a in self.book):
            return  # no house yet (nothing opened)
        house = str(self.house.address)
        if int(self.d.accounts.commitmentOf(house)) == 0 or self._opening(house) is None:
            return
        if int(self.d.accounts.accountState(house).provenEpoch) < self._require_epoch().epoch_id:
            try:
                self.prove(house, KIND_MM)
            except NotProvable:
                pass  # under water: prove_all reports it, the keeper may liquidate it like any account

    def _require_epoch(self) -> RiskEpoch:
        if self.epoch is None:
            raise DevnetError("no epoch posted yet: call post_epoch first")
        return self.epoch

    # --- operator / prover ------------------------------------------------------------------
    @property
    def chain_epochs(self) -> ChainEpochs:
        """The posted epochs as the chain logged them (statement data, funding indices)."""
        if self._chain_epochs is None:
            self._chain_epochs = ChainEpochs(self.d)
        return self._chain_epochs

    def settled_funding(self, address: str) -> tuple[int, ...]:
        """The funding index ``address`` last settled at, as the chain records it."""
        return self.chain_epochs.settled_funding(str(address))

    def _request(self, acct: PrivateAccount, kind: int, collateral: int) -> Any:
        """The prover's request for ``acct`` in the current epoch (a ``prover.api.ProofRequest``)."""
        from prover.api import ProofRequest

        return ProofRequest(self._require_epoch().statement(), Account.create(acct.q, acct.cash, acct.salt), kind,
                            int(acct.address, 16), collateral, self.settled_funding(acct.address))

    def figures(self, address: str, kind: int = KIND_MM, collateral: int | None = None) -> Any:
        """Integer equity (with the funding it has not settled) and requirement of ``address`` in
        the current epoch (offchain.risk.epoch)."""
        acct = self._opening(str(address)) or self.book.get(str(address))
        b = int(self.d.vault.balanceOf(acct.address)) if collateral is None else collateral
        return self._require_epoch().figures(acct.q, acct.cash, b, kind, settled=self.settled_funding(acct.address))

    def prove(self, user: Any, kind: int = KIND_MM, collateral: int | None = None) -> Any:
        """Prove ``kind`` for ``user`` in the current epoch and submit it (MM/insolvency: by the owner)."""
        from prover.api import prove_solvency

        address = str(user.address if hasattr(user, "address") else user)
        acct = self._opening(address) or self.book.get(address)
        b = int(self.d.vault.balanceOf(acct.address)) if collateral is None else collateral
        fig = self.figures(acct.address, kind, b)
        if not fig.holds:
            raise NotProvable(acct.address, kind, fig.equity, fig.requirement)
        req = self._request(acct, kind, b)
        sp = prove_solvency(self.keys, req.epoch, req.account, kind, req.address, b, settled=req.settled)
        words, _ = sp.evm()
        return self.d.accounts.submitProof(acct.address, self._require_epoch().epoch_id, kind, b, words, sender=self.d.owner)

    def _executor(self, count: int, processes: int | None) -> Any:
        """The executor for ``count`` proofs: ``self.prover``, else this process for one proof or
        ``processes == 1``, else this session's warm local pool."""
        from zkmargin.executor import LocalPoolExecutor, SequentialExecutor

        if self.prover is not None:
            return self.prover
        if count <= 1 or processes == 1:
            return SequentialExecutor()
        self.prover = LocalPoolExecutor(processes, keep_workers=True)
        return self.prover

    def prove_all(self, kind: int = KIND_MM, processes: int | None = None, progress: bool | None = None) -> dict[str, str]:
        """Prove every open account that has no proof for the current epoch yet, the proofs made
        in parallel (``self.prover``) and sent in ``submitProofs`` batches as they come; ``{address:
        "proved" | "already proven" | "not provable" | "closed" | "skipped (<why>)"}`` (an account
        that moved on between the check and the batch, e.g. proved itself, is skipped by the
        contract and the batch goes on). A progress bar (accounts, accounts/s) on a terminal, or
        as ``progress`` says. Idempotent: a second call (or a restarted prover) sends nothing new."""
        from prover.api import iter_prove_many
        from prover.progress import proof_bar

        epoch = self._require_epoch()
        self.sync_book()
        out: dict[str, str] = {}
        provable: list[tuple[PrivateAccount, int]] = []
        for acct in self.book:
            state = self.d.accounts.accountState(acct.address)
            if int(self.d.accounts.commitmentOf(acct.address)) == 0 or state.inLiquidation:
                out[acct.address] = "closed"
            elif kind != KIND_INSOLVENCY and int(state.provenEpoch) >= epoch.epoch_id:
                out[acct.address] = "already proven"
            else:
                b = int(self.d.vault.balanceOf(acct.address))
                if self.figures(acct.address, kind, b).holds:
                    provable.append((acct, b))
                else:
                    out[acct.address] = "not provable"
        requests = [self._request(a, kind, b) for a, b in provable]

        def send(chunk: list[Any]) -> None:
            receipt = self.d.accounts.submitProofs(epoch.epoch_id, chunk, sender=self.d.owner)
            skipped = {str(ev.account): int(ev.reason) for ev in self.d.accounts.ProofSkipped.from_receipt(receipt)}
            for address, *_ in chunk:
                out[address] = f"skipped ({SKIP_REASONS[skipped[address]]})" if address in skipped else "proved"

        t0 = time.monotonic()
        pending: list[Any] = []
        bar = proof_bar(len(requests), f"epoch {epoch.epoch_id} proofs", disable=None if progress is None else not progress)
        try:
            if requests:
                for i, sp in iter_prove_many(self.keys, requests, self._executor(len(requests), processes)):
                    acct, b = provable[i]
                    pending.append((acct.address, kind, b, acct.commitment(), sp.evm()[0]))
                    bar.update(1)
                    if len(pending) == PROOF_BATCH:  # sent while the workers go on proving
                        send(pending)
                        pending = []
            if pending:
                send(pending)
        finally:
            bar.close()
        self.last_proving = (len(requests), time.monotonic() - t0)
        return out

    # --- trading: every commitment change is a settled batch ---------------------------------
    @property
    def house(self) -> Any:
        """The operator's market-making account, the counterparty of every opening: an ape test
        account whose key is derived from ``seed`` (so a restarted script signs as the same house)."""
        if self._house is None:
            from ape import accounts
            from eth_account import Account as EthAccount
            from eth_utils import keccak

            key = "0x" + keccak(b"zkmargin devnet house" + int(self.seed).to_bytes(32, "big")).hex()
            address = EthAccount.from_key(key).address
            self._house = accounts.test_accounts.init_test_account(HOUSE_INDEX, address, key)
            if int(self.chain.provider.get_balance(address)) < 10**18:  # gas for its deposits, from the owner
                self.d.owner.transfer(address, 10**19)
        return self._house

    def _signer(self, address: str) -> Any:
        if address == str(self.house.address):
            return self.house
        if address not in self._signers:
            raise DevnetError(f"{address}: no key here to sign its orders (pass the account object to open or trade)")
        return self._signers[address]

    def _fresh_salt(self) -> int:
        assert self._salts is not None
        return salt_from_seed(self._salts.spawn(1)[0])

    def _opening(self, address: str) -> PrivateAccount | None:
        """The opening of ``address``'s commitment on chain (None: no commitment); raises
        :class:`DevnetError` if the chain holds a commitment the book cannot open."""
        c = int(self.d.accounts.commitmentOf(address))
        if c == 0:
            return None
        if address in self.book and self.book.get(address).commitment() == c:
            return self.book.get(address)
        if c in self._openings:
            self.book.put(self._openings[c])
            return self._openings[c]
        raise DevnetError(f"{address}: commitment {c} on-chain has no opening in the operator's book")

    def adopt(self, opening: PrivateAccount) -> bool:
        """Take ``opening`` into the book when it opens the commitment its account holds on chain
        (an account whose transitions another writer settled, e.g. the exchange's settler);
        returns whether it was taken."""
        c = int(self.d.accounts.commitmentOf(opening.address))
        if c == 0 or opening.commitment() != c:
            return False
        self._openings[c] = opening
        if opening.address not in self.book or self.book.get(opening.address).commitment() != c:
            self.book.put(opening)
        return True

    def sync_book(self) -> None:
        """Point every book entry at the opening of the commitment the chain holds now (after the
        chain was rolled back, or after a keeper in this process took over a book)."""
        for acct in list(self.book):
            c = int(self.d.accounts.commitmentOf(acct.address))
            if c != 0 and c != acct.commitment() and c in self._openings:
                self.book.put(self._openings[c])

    def _legs_for(self, holdings: dict[str, int], user: str, counterparty: str, prices: Sequence[int] | None = None,
                  where: str = "holdings") -> list[Leg]:
        """``user`` buys ``holdings`` (symbol -> signed lots) from ``counterparty`` at ``prices``
        (default: the epoch's marks)."""
        q = lots_vector(self.book.instruments, holdings, where)
        marks = list(prices) if prices is not None else list(self._require_epoch().marks)
        legs = []
        for i, x in enumerate(q):
            if x:
                buyer, seller = (user, counterparty) if x > 0 else (counterparty, user)
                legs.append(Leg(buyer, seller, i, abs(x), int(marks[i])))
        return legs

    def _simulate(self, batches: Sequence[Sequence[Leg]], collateral: dict[str, int],
                  cash_outs: dict[str, int] | None = None) -> dict[str, list[tuple[list[int], int]]]:
        """Every party's (positions, cash) after each batch it is in, funding settled at its first
        transition like the statement does (``prover.transitions``)."""
        from prover.transitions import fee_of

        epoch = self._require_epoch()
        fund = list(epoch.fund)
        state: dict[str, tuple[list[int], int]] = {}
        out: dict[str, list[tuple[list[int], int]]] = {}
        cash_outs = dict(cash_outs or {})
        for legs in batches:
            touched = {x for leg in legs for x in (leg.buyer, leg.seller)} | set(cash_outs)
            for who in touched:
                if who not in state:
                    acct = self._opening(who)
                    if acct is None:
                        state[who] = ([0] * len(fund), 0)
                    else:
                        fs = self.settled_funding(who)
                        owed = sum(q * (f - g) for q, f, g in zip(acct.q, fund, fs))
                        state[who] = (list(acct.q), acct.cash - owed)
            for leg in legs:
                fee = fee_of(leg.price, leg.size, self.fee_bps)
                for who, sign in ((leg.buyer, 1), (leg.seller, -1)):
                    q, c = state[who]
                    q[leg.instrument] += sign * leg.size
                    state[who] = (q, c - sign * leg.size * leg.price - fee)
            for who, units in cash_outs.items():
                q, c = state[who]
                state[who] = (q, c - units)
                collateral[who] = collateral.get(who, 0) + units
            cash_outs = {}
            for who in touched:
                out.setdefault(who, []).append((list(state[who][0]), state[who][1]))
        return out

    def _settle_batches(self, batches: Sequence[Sequence[Leg]], cash_outs: dict[str, int] | None = None,
                        labels: dict[str, str] | None = None) -> list[Any]:
        """Sign, prove and settle each batch in turn (the fills' orders signed by their traders,
        every party's transition proven); the book takes every new opening. ``cash_outs`` (the
        first batch): private cash moved to the public balance (negative: the other way)."""
        from offchain.devnet.batches import Party, Trade, prepare_batch
        from offchain.trading.signing import sign_commitment
        from prover.transition_api import prove_transitions
        from prover.transitions import Order, OrderSlot

        d, epoch = self.d, self._require_epoch()
        st = epoch.statement()
        labels = dict(labels or {})
        receipts = []
        pending_out = dict(cash_outs or {})
        proofs, proving_s = 0, 0.0
        for legs in batches:
            who_all = sorted({x for leg in legs for x in (leg.buyer, leg.seller)} | set(pending_out), key=lambda a: int(a, 16))
            slots: dict[tuple[str, tuple[int, int, int]], OrderSlot] = {}
            sizes: dict[tuple[str, tuple[int, int, int]], int] = {}
            for leg in legs:
                for who in (leg.buyer, leg.seller):
                    key = (who, leg.order_key(who))
                    sizes[key] = sizes.get(key, 0) + leg.size
            expiry = self.now() + ORDER_TTL_SECONDS
            for (who, (instrument, side, price)), size in sizes.items():
                order = Order(int(who, 16), instrument, side, price, size, expiry, self._fresh_salt() % 2**32,
                              self._fresh_salt())
                slots[(who, (instrument, side, price))] = OrderSlot(order, r_after=self._fresh_salt())
            trades = [Trade(leg.instrument, leg.price, leg.size, leg.buyer, slots[(leg.buyer, leg.order_key(leg.buyer))].commitment,
                            leg.seller, slots[(leg.seller, leg.order_key(leg.seller))].commitment) for leg in legs]
            parties = []
            for who in who_all:
                acct = self._opening(who)
                mine = tuple(o for (w, _k), o in slots.items() if w == who)
                pkey = _private_key(self._signer(who)) if mine else ""
                sigs = tuple(sign_commitment(o.commitment, pkey, d.chain_id, str(d.settlement.address)) for o in mine)
                out = pending_out.get(who, 0)
                parties.append(Party(
                    who, Account.create(acct.q, acct.cash, acct.salt) if acct is not None else None,
                    self.settled_funding(who) if acct is not None else None,
                    int(d.vault.balanceOf(who)) + out, self._fresh_salt(), mine,
                    tuple((int(sg.v), int(sg.r).to_bytes(32, "big"), int(sg.s).to_bytes(32, "big")) for sg in sigs), out))
                if acct is not None and who not in labels:
                    labels[who] = acct.label
            pending_out = {}
            batch = prepare_batch(st, self.fee_bps, parties, trades, slots=self.tkeys.k, nonce=self._fresh_salt())
            t0 = time.monotonic()
            words = prove_transitions(batch.requests, self.tkeys)
            proofs, proving_s = proofs + len(words), proving_s + time.monotonic() - t0
            receipts.append(d.settlement.settle(batch.contract_batch(words), sender=d.owner))
            for party, res in zip(batch.parties, batch.results):
                opening = PrivateAccount(party.address, list(res.new.q), res.new.cash, res.new.salt,
                                         labels.get(party.address, ""))
                self.book.put(opening)
                self._openings[opening.commitment()] = opening
            if self.journal is not None:  # after the book: the chain and the book never wait on it
                try:
                    self.journal.batch(batch, labels)
                except ZkMarginError as exc:  # e.g. a database that missed an earlier transition
                    self.journal_errors.append(f"batch of epoch {epoch.epoch_id}: {exc}")
                    warnings.warn(f"operator journal: {exc}", stacklevel=2)
        self.last_proving = (proofs, proving_s)
        return receipts

    def _fund_house(self, target: int) -> None:
        """Deposit for the house until its public balance is ``target``."""
        have = int(self.d.vault.balanceOf(self.house))
        if target > have:
            self._deposit(self.house, target - have)

    def _deposit(self, user: Any, units: int) -> None:
        d = self.d
        d.token.mint(user, units, sender=d.owner)
        d.token.approve(d.vault.address, units, sender=user)
        d.vault.deposit(units, sender=user)

    def _house_target(self, path: Sequence[tuple[list[int], int]]) -> int:
        """The house's public balance: ``HOUSE_MARGIN_MULTIPLE`` times the largest initial margin
        along ``path`` (its states batch by batch), and at least what keeps IM at each state."""
        epoch = self._require_epoch()
        st = epoch.statement()
        need = 0
        for q, cash in path:
            req = st.requirement(q, KIND_IM)
            fig = epoch.figures(q, cash, 0, KIND_IM)
            need = max(need, HOUSE_MARGIN_MULTIPLE * req, fig.requirement - fig.equity)
        return need

    def open_account(self, user: Any, holdings: dict[str, int], deposit_units: int, label: str = "") -> PrivateAccount:
        """Fund and deposit for ``user``, and buy ``holdings`` (symbol -> signed lots) from the
        house at the epoch's marks (a settled batch: both transitions proven)."""
        return self.open_accounts([(user, holdings, deposit_units, label)])[0]

    def open_accounts(self, specs: Sequence[tuple[Any, dict[str, int], int, str]], processes: int | None = None) -> list[PrivateAccount]:
        """:meth:`open_account` for many ``(user, holdings, deposit_units, label)``, the fills
        packed into as few batches as the contracts take (``offchain.devnet.packing``). Every
        account is checked (initial margin after each batch it is in, fees included) before
        anything is sent. ``processes`` is accepted for compatibility (transition proofs are made
        here, on the native backend)."""
        d = self.d
        self._require_epoch()  # (no epoch: an error before anything is checked or sent)
        assert self._salts is not None
        house = str(self.house.address)
        # the balance each account will have after its deposit, by the vault's share maths (after a
        # socialized loss a deposit can credit one unit less than it brings)
        pool_units, pool_shares = int(d.vault.totalDeposits()), int(d.vault.totalShares())
        user_shares: dict[str, int] = {}
        collateral: dict[str, int] = {}
        groups: list[list[Leg]] = []
        labels: dict[str, str] = {}
        seen: set[str] = set()
        for k, (user, holdings, deposit_units, label) in enumerate(specs):
            if deposit_units <= 0:
                raise InputError(f"accounts[{k}].deposit_units", f"must be positive, got {deposit_units}")
            addr = str(user.address)
            if addr == house:
                raise InputError(f"accounts[{k}]", "is the house (the counterparty of every opening)")
            if addr in seen:
                raise InputError(f"accounts[{k}]", f"{addr} appears twice")
            seen.add(addr)
            self._signers[addr] = user
            minted = shares_for_deposit(deposit_units, pool_units, pool_shares)
            user_shares[addr] = user_shares.get(addr, int(d.vault.sharesOf(user))) + minted
            pool_units, pool_shares = pool_units + deposit_units, pool_shares + minted
            collateral[addr] = units_of(user_shares[addr], pool_units, pool_shares)
            mine = self._legs_for(holdings, addr, house, where=f"accounts[{k}].holdings")
            # an account's legs go into one batch together (two orders per account and batch), so a
            # hedged book is never margined half-built
            groups += [mine[j : j + MAX_ORDERS_PER_ACCOUNT] for j in range(0, len(mine), MAX_ORDERS_PER_ACCOUNT)]
            labels[addr] = label
        batches = pack_groups(groups, self.tkeys.k)
        # the house is funded to its target below, once the paths are known
        paths = self._check_paths(batches, balances=collateral, skip={house})
        for user, _holdings, deposit_units, _label in specs:
            self._deposit(user, deposit_units)
        self._fund_house(self._house_target(paths.get(house, [])))
        labels.setdefault(house, HOUSE_LABEL)
        self._settle_batches(batches, labels=labels)
        traded = {x for b in batches for leg in b for x in (leg.buyer, leg.seller)}
        for addr in collateral:  # an account opened with no positions: a deposit and a book entry
            if addr not in traded and addr not in self.book:
                self.book.put(PrivateAccount(addr, [0] * len(self.listing), 0, 0, labels[addr]))
        return [self.book.get(str(u.address)) for u, *_ in specs]

    def trade(self, buyer: Any, seller: Any, symbol: str, lots: int, price: int | None = None) -> Any:
        """``buyer`` buys ``lots`` of ``symbol`` from ``seller`` at ``price`` (base units per lot;
        default: the epoch's mark): both sign their orders, both transitions are proven, one
        ``Settlement.settle``. Returns the receipt."""
        return self.trades([(buyer, seller, symbol, lots, price)])[0]

    def trades(self, fills: Sequence[tuple[Any, Any, str, int, int | None]]) -> list[Any]:
        """Settle ``(buyer, seller, symbol, lots, price or None)`` fills in as few batches as the
        contracts take; every party is checked (initial margin after each batch, or the batch
        only reduces its risk) before anything is sent. Returns the receipts."""
        epoch = self._require_epoch()
        legs = []
        for k, (buyer, seller, symbol, lots, price) in enumerate(fills):
            if symbol not in self.book.instruments:
                raise InputError(f"fills[{k}].symbol", f"{symbol!r} is not listed ({', '.join(self.book.instruments)})")
            if lots <= 0:
                raise InputError(f"fills[{k}].lots", f"must be positive, got {lots}")
            i = self.book.instruments.index(symbol)
            px = int(epoch.marks[i]) if price is None else int(price)
            if px < 0:
                raise InputError(f"fills[{k}].price", f"must not be negative, got {px}")
            for who in (buyer, seller):
                if str(who.address) != str(self.house.address):
                    self._signers[str(who.address)] = who
            legs.append(Leg(str(buyer.address), str(seller.address), i, int(lots), px))
        batches = pack_legs(legs, self.tkeys.k)
        self._check_paths(batches)
        return self._settle_batches(batches)

    def _check_paths(self, batches: Sequence[Sequence[Leg]], cash_outs: dict[str, int] | None = None,
                     balances: dict[str, int] | None = None, skip: Collection[str] = ()
                     ) -> dict[str, list[tuple[list[int], int]]]:
        """Each party's state after each batch meets IM at its public balance (``balances``,
        default the vault's; a cash-out adds to it), parties in ``skip`` aside; raises
        :class:`NotProvable` before anything is sent. Stricter than the statement, which also
        takes a step below IM that only reduces positions. Returns every party's states."""
        epoch = self._require_epoch()
        b = dict(balances) if balances is not None else {}
        for who in {x for batch in batches for leg in batch for x in (leg.buyer, leg.seller)} | set(cash_outs or {}):
            b.setdefault(who, int(self.d.vault.balanceOf(who)))
        paths = self._simulate(batches, b, cash_outs)
        for who, path in paths.items():
            if who in skip:
                continue
            for q, cash in path:
                fig = epoch.figures(q, cash, b[who], KIND_IM)
                if not fig.holds:
                    raise NotProvable(who, KIND_IM, fig.equity, fig.requirement)
        return paths

    def cash_out(self, user: Any, units: int) -> Any:
        """Move ``units`` of ``user``'s private cash (realized PnL, settled funding) to its public
        vault balance: a transition with no fills, proven like any other (the post-state meets IM
        with the larger balance). Returns the receipt."""
        addr = str(user.address)
        if units <= 0:
            raise InputError("units", f"must be positive, got {units}")
        if self._opening(addr) is None:
            raise InputError("user", f"{addr} has no commitment: nothing to cash out")
        self._signers.setdefault(addr, user)
        self._check_paths([[]], {addr: units})
        return self._settle_batches([[]], cash_outs={addr: units})[0]

    def withdraw(self, user: Any, units: int, to: Any = None) -> Any:
        """Withdraw ``units`` of ``user``'s public balance to ``to`` (default: itself) under an IM
        proof of the book at the balance left (``MarginAccounts.withdraw``); an account with no
        commitment withdraws from the vault directly."""
        addr = str(user.address)
        dest = to if to is not None else user
        b = int(self.d.vault.balanceOf(addr))
        if not 0 < units <= b:
            raise InputError("units", f"must be in (0, {b}] (the public balance), got {units}")
        acct = self._opening(addr)
        if acct is None:
            return self.d.vault.withdraw(units, dest, sender=user)
        from prover.api import prove_solvency

        collateral = b - units
        fig = self.figures(addr, KIND_IM, collateral)
        if not fig.holds:
            raise NotProvable(addr, KIND_IM, fig.equity, fig.requirement)
        req = self._request(acct, KIND_IM, collateral)
        sp = prove_solvency(self.keys, req.epoch, req.account, KIND_IM, req.address, collateral, settled=req.settled)
        words, _ = sp.evm()
        return self.d.accounts.withdraw(units, dest, self._require_epoch().epoch_id, collateral, words, sender=user)

    def prove_insolvency(self, user: Any) -> Any:
        """The operator proves ``equity - requirement < 0`` so the account is liquidatable at once."""
        return self.prove(user, KIND_INSOLVENCY)

    # --- liquidation keeper -------------------------------------------------------------------
    def fund_liquidator(self, liquidator: Any, units: int) -> None:
        """Give a liquidator (an address with no commitment) vault balance to pay for fills."""
        self.d.token.mint(liquidator, units, sender=self.d.owner)
        self.d.token.approve(self.d.vault.address, units, sender=liquidator)
        self.d.vault.deposit(units, sender=liquidator)

    def fund_insurance(self, units: int) -> None:
        self.d.token.mint(self.d.owner, units, sender=self.d.owner)
        self.d.token.approve(self.d.vault.address, units, sender=self.d.owner)
        self.d.vault.fundInsurance(units, sender=self.d.owner)

    def keeper(self, liquidator: Any, state_path: Path | None = None, policy: KeeperPolicy | None = None,
               on_action: Any = None, on_skip: Any = None) -> LiquidationKeeper:
        """The liquidation keeper for this deployment, bidding from ``liquidator``'s vault balance."""
        return LiquidationKeeper(self.d, self.book, liquidator, prover=self.transition_prover, state_path=state_path,
                                 policy=policy, on_action=on_action, on_skip=on_skip)

    def transition_prover(self, requests: Sequence[Any]) -> list[list[int]]:
        """EVM proof words of transition requests with this deployment's keys (the keeper's takeovers)."""
        from prover.transition_api import prove_transitions

        return prove_transitions(list(requests), self.tkeys)

    # --- balances -------------------------------------------------------------------------------
    def balances(self) -> dict[str, int]:
        """Vault balance per book account, plus ``insurance`` and ``fees`` (base units)."""
        v = self.d.vault
        out = {a.address: int(v.balanceOf(a.address)) for a in self.book}
        out["insurance"] = int(v.insuranceFund())
        out["fees"] = int(v.protocolFees())
        return out


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex() if not isinstance(value, str) else value.lower()


def _check_same_chain(path: Path, obj: dict[str, Any]) -> tuple[int, str] | None:
    """Raise :class:`InputError` (one line saying what to do) when the deployment saved in
    ``path`` is not on the connected node: another chain id, a chain without the saved block
    (a restarted anvil), or contracts without code. Returns the saved anchor block."""
    from ape import chain

    provider = chain.provider
    where = getattr(provider, "http_uri", None) or getattr(provider, "network_choice", "this network")
    state_dir = path.parent
    redo = (f"run `ape run deploy --network {where} --state-dir {state_dir}` to deploy there, or pass the "
            "--state-dir of a deployment on this node")
    saved_chain = int(obj["chain_id"])
    if saved_chain != int(chain.chain_id):
        raise InputError(str(path), f"saved for chain {saved_chain}, but the node at {where} is chain {chain.chain_id}: {redo}")
    raw = obj.get("anchor_block")
    anchor = (int(raw["number"]), str(raw["hash"]).lower()) if isinstance(raw, dict) else None
    gone = f"the deployment saved here is not on the node at {where} (was it restarted?): {redo}"
    if anchor is not None:
        try:
            block = provider.web3.eth.get_block(anchor[0])
            same = _hex(block["hash"]) == anchor[1]
        except Exception:  # noqa: BLE001 - web3 raises BlockNotFound & co for a shorter chain
            same = False
        if not same:
            raise InputError(str(path), gone)
    for name, address in obj.get("contracts", {}).items():
        if not provider.web3.eth.get_code(address):
            raise InputError(str(path), f"{gone} (no contract code at the {name} address {address})")
    return anchor


def _verifier_at(address: str, type_name: str) -> Any:
    """The verifier at ``address``: its own project type when the project has it (the committed
    ``SolvencyVerifierN{n}S{s}``), else the ``IGroth16Verifier`` interface (a verifier compiled
    on the fly is not in the project; every verifier has that ABI)."""
    from ape import project

    name = type_name if type_name and hasattr(project, type_name) else "IGroth16Verifier"
    return getattr(project, name).at(address)


def _private_key(account: Any) -> str:
    key = getattr(account, "private_key", None)
    if not key:
        raise InputError("account", f"{account} has no private key available to sign with (use ape test accounts)")
    return str(key)
