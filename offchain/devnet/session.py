"""A deployed zkmargin protocol and its off-chain roles, as one Python object.

This is the public API for integration tests (ours and other projects'), the ape scripts and
the demo::

    from offchain.devnet.session import Protocol
    p = Protocol.deploy(owner, listing, reporters=[owner], zk_dir=".build/zk")
    p.report_prices({"BTC": 43_000, "ETH": 3_400})      # oracle keeper: signed EIP-712 report(s)
    p.post_epoch(vols={"BTC": 0.8, "ETH": 0.9})          # risk keeper: epoch built by offchain.risk.epoch
    p.open_account(alice, {"BTC-PERP": 500}, deposit_units=10_000 * 10**6)   # operator: IM proof
    p.prove_all()                                        # prover: MM proofs for the current epoch
    p.advance(p.grace_period_seconds + 1)
    p.keeper(liquidator).run(until_idle=True)            # liquidation keeper

Roles: ``owner`` deploys and is the risk keeper and the operator that submits MM proofs;
each user signs its own ``updateCommitment``; ``reporters`` sign oracle reports (their private
keys come from ape test accounts). All money is in collateral base units (6 decimals).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import TypeAdapter

from offchain.devnet.deploy import DEFAULT_FEEDS, Deployment, FeedParams, deploy_protocol, feed_id
from offchain.devnet.keepers.liquidation import KeeperPolicy, LiquidationKeeper
from offchain.devnet.manifest import write_json_atomic
from offchain.devnet.operator import AccountBook, PrivateAccount, lots_vector, salt_from_seed
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
STATE_VERSION = 1
#: proofs per ``submitProofs`` transaction
PROOF_BATCH = 16


class NotProvable(ZkMarginError):
    """The statement does not hold for the account, so no proof can be made."""

    def __init__(self, account: str, kind: int, equity: int, requirement: int) -> None:
        self.account, self.kind, self.equity, self.requirement = account, kind, equity, requirement
        super().__init__(f"account {account}: kind {kind} statement does not hold (equity {equity} < requirement {requirement})")


def _verifier_for(owner: Any, keys: Any) -> Any:
    """Deploy the Groth16 verifier of ``keys``: the committed ``SolvencyVerifierN{n}S{s}`` if it
    matches the keys, else one generated from the verification key and compiled now."""
    from ape import compilers, project

    from prover.solidity import generate_verifier

    name = f"SolvencyVerifierN{keys.n}S{keys.s}"
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
    risk_config: Any = "deribit_pm"
    grace_period_seconds: int = 3_600
    seed: int = 0
    epoch: RiskEpoch | None = None
    spots: dict[str, float] = field(default_factory=dict)
    market_timestamp: int | None = None
    #: where proofs are made (a ``zkmargin.executor.Executor``); default: a local pool whose
    #: workers stay warm (keys loaded, circuit built) from one epoch to the next
    prover: Any = None
    #: accounts and seconds of the latest ``prove_all`` (its accounts per second)
    last_proving: tuple[int, float] = (0, 0.0)
    _salts: np.random.SeedSequence | None = None
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
    ) -> Protocol:
        """Deploy every contract with the real Groth16 verifier for ``(len(listing), S)``."""
        from prover.api import devnet_setup

        if not listing:
            raise InputError("listing", "no instruments")
        underlyings = sorted({i.underlying for i in listing})
        feeds = tuple(f"{u}/USD" for u in underlyings)
        n_scenarios = cls._scenario_count(listing, risk_config)
        keys = devnet_setup(len(listing), n_scenarios, zk_dir, seed=zk_seed)
        verifier = _verifier_for(owner, keys)
        reps = list(reporters or [owner])
        d = deploy_protocol(
            owner, reps, threshold=threshold, feeds=feeds or DEFAULT_FEEDS, feed_params=feed_params,
            verifier=verifier, grace_period_seconds=grace_period_seconds, auction=auction,
        )
        book = AccountBook(instruments=[i.symbol for i in listing])
        return cls(
            d=d, listing=list(listing), keys=keys, book=book, reporter_keys=[_private_key(r) for r in reps],
            risk_config=risk_config, grace_period_seconds=grace_period_seconds, seed=seed,
            _salts=np.random.SeedSequence(seed),
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
            "zk": {"dir": str(self.keys.directory.parent), "n": self.keys.n, "s": self.keys.s},
            "salts_spawned": self._salts.n_children_spawned if self._salts is not None else 0,
            "reported": sorted(self.spots),
            "verifier_type": str(self.d.verifier.contract_type.name),
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
                 "accounts": "MarginAccounts", "liquidation": "Liquidation", "poseidon": "PoseidonSponge"}
        if "topups" in addrs:  # the top-up module (deployments saved before it existed have none)
            names["topups"] = "TopUpAuthorizations"
        try:
            contracts = {k: getattr(project, v).at(addrs[k]) for k, v in names.items()}
        except Exception as exc:  # ape raises ContractNotFoundError & co for a wrong chain or address
            raise DevnetError(f"cannot attach to the contracts in {path}: {exc}") from exc
        zk = obj["zk"]
        keys = load_keys(zk["dir"], int(zk["n"]), int(zk["s"]))
        verifier = _verifier_at(addrs["verifier"], str(obj.get("verifier_type", "")))
        d = Deployment(chain_id=int(obj["chain_id"]), owner=owner, verifier=verifier, **contracts)
        listing = TypeAdapter(list[InstrumentModel]).validate_python(
            [{**i, "lot_size": float(i["lot_size"])} for i in obj["listing"]]
        )
        cfg = obj["risk_config"]
        risk_config = RiskMatrixConfig.model_validate(cfg) if isinstance(cfg, dict) else cfg
        salts = np.random.SeedSequence(int(obj["seed"]))
        salts.spawn(int(obj.get("salts_spawned", 0)))  # never reuse a salt after a restart
        p = cls(d=d, listing=list(listing), keys=keys, book=AccountBook.load(state_dir / "book.json"),
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

    def post_epoch(self, vols: dict[str, float], rate: float = 0.0, market_timestamp: int | None = None) -> RiskEpoch:
        """Build the next epoch from the latest oracle round and post it (digest and data)."""
        d = self.d
        epoch_id = int(d.epochs.currentEpochId()) + 1
        oracle_round = int(d.oracle.globalRound())
        market = self.market(vols, rate, market_timestamp)
        epoch = build_epoch(market, self.listing, self.risk_config, epoch_id=epoch_id, oracle_round=oracle_round,
                            timestamp=self.now(), linearize=True)
        flat = [x for row in epoch.scenario_pnl for x in row]
        d.epochs.postEpoch(
            (epoch.epoch_id, epoch.oracle_round, epoch.timestamp, epoch.im_factor_bps, epoch.s,
             list(epoch.marks), flat, list(epoch.addons), epoch.digest),
            sender=d.owner,
        )
        self.epoch = epoch
        return epoch

    def _require_epoch(self) -> RiskEpoch:
        if self.epoch is None:
            raise DevnetError("no epoch posted yet: call post_epoch first")
        return self.epoch

    # --- operator / prover ------------------------------------------------------------------
    def _request(self, acct: PrivateAccount, kind: int, collateral: int) -> Any:
        """The prover's request for ``acct`` in the current epoch (a ``prover.api.ProofRequest``)."""
        from prover.api import ProofRequest

        return ProofRequest(self._require_epoch().statement(), Account.create(acct.q, acct.cash, acct.salt), kind,
                            int(acct.address, 16), collateral)

    def figures(self, address: str, kind: int = KIND_MM, collateral: int | None = None) -> Any:
        """Integer equity and requirement of ``address`` in the current epoch (offchain.risk.epoch)."""
        acct = self.book.get(str(address))
        b = int(self.d.vault.balanceOf(acct.address)) if collateral is None else collateral
        return self._require_epoch().figures(acct.q, acct.cash, b, kind)

    def prove(self, user: Any, kind: int = KIND_MM, collateral: int | None = None) -> Any:
        """Prove ``kind`` for ``user`` in the current epoch and submit it (MM/insolvency: by the owner)."""
        from prover.api import prove_solvency

        acct = self.book.get(str(user.address if hasattr(user, "address") else user))
        b = int(self.d.vault.balanceOf(acct.address)) if collateral is None else collateral
        fig = self.figures(acct.address, kind, b)
        if not fig.holds:
            raise NotProvable(acct.address, kind, fig.equity, fig.requirement)
        req = self._request(acct, kind, b)
        sp = prove_solvency(self.keys, req.epoch, req.account, kind, req.address, b)
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

    def open_account(self, user: Any, holdings: dict[str, int], deposit_units: int, label: str = "") -> PrivateAccount:
        """Fund and deposit for ``user``, buy ``holdings`` (symbol -> signed lots) at the epoch marks,
        and register the commitment with an IM proof."""
        return self.open_accounts([(user, holdings, deposit_units, label)])[0]

    def open_accounts(self, specs: Sequence[tuple[Any, dict[str, int], int, str]], processes: int | None = None) -> list[PrivateAccount]:
        """:meth:`open_account` for many ``(user, holdings, deposit_units, label)``, the IM proofs
        made in parallel. Every account is checked before anything is sent."""
        from prover.api import prove_many

        d, epoch = self.d, self._require_epoch()
        assert self._salts is not None
        opened: list[tuple[Any, PrivateAccount, int]] = []
        # the balance each account will have after its deposit, by the vault's share maths (after a
        # socialized loss a deposit can credit one unit less than it brings)
        pool_units, pool_shares = int(d.vault.totalDeposits()), int(d.vault.totalShares())
        user_shares: dict[str, int] = {}
        for k, (user, holdings, deposit_units, label) in enumerate(specs):
            if deposit_units <= 0:
                raise InputError(f"accounts[{k}].deposit_units", f"must be positive, got {deposit_units}")
            q = lots_vector(self.book.instruments, holdings)
            cash = -sum(qi * mi for qi, mi in zip(q, epoch.marks))  # spot-like: pay the mark for each lot
            addr = str(user.address)
            minted = shares_for_deposit(deposit_units, pool_units, pool_shares)
            user_shares[addr] = user_shares.get(addr, int(d.vault.sharesOf(user))) + minted
            pool_units, pool_shares = pool_units + deposit_units, pool_shares + minted
            b = units_of(user_shares[addr], pool_units, pool_shares)
            if not epoch.figures(q, cash, b, KIND_IM).holds:
                fig = epoch.figures(q, cash, b, KIND_MM)
                raise NotProvable(str(user.address), KIND_IM, fig.equity, epoch.statement().requirement(q, KIND_IM))
            salt = salt_from_seed(self._salts.spawn(1)[0])
            opened.append((user, PrivateAccount(str(user.address), q, cash, salt, label), b))
        requests = [self._request(a, KIND_IM, b) for _, a, b in opened]
        t0 = time.monotonic()
        proofs = prove_many(self.keys, requests, self._executor(len(requests), processes))
        self.last_proving = (len(requests), time.monotonic() - t0)
        for (user, acct, b), sp, (_, _, deposit_units, _) in zip(opened, proofs, specs):
            d.token.mint(user, deposit_units, sender=d.owner)
            d.token.approve(d.vault.address, deposit_units, sender=user)
            d.vault.deposit(deposit_units, sender=user)
            words, _ = sp.evm()
            d.accounts.updateCommitment(acct.commitment(), epoch.epoch_id, b, words, sender=user)
            self.book.put(acct)
        return [a for _, a, _ in opened]

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
        return LiquidationKeeper(self.d, self.book, liquidator, state_path=state_path, policy=policy,
                                 on_action=on_action, on_skip=on_skip)

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
        raise InputError("reporters", f"{account} has no private key available to sign reports (use ape test accounts)")
    return str(key)
