"""``zkmargin setup | prove | verify | export-verifier | backends``: the prover's commands.

Errors about files and values raise :class:`prover.errors.ProverInputError` (an
``InputError``), which ``zkmargin.cli`` prints as ``error: <field>: <problem>`` (exit 2).
``--backend`` picks the prover backend (default ``auto``: ``$ZKMARGIN_PROVER_BACKEND``, else
native when installed, else python); ``setup`` and ``prove`` print their stages and timings to
stderr.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from prover import formats
from prover.backend import AUTO, NAMES
from prover.errors import ArtefactError, ProverInputError, VerificationFailed

KIND_NAMES = {"mm": 0, "im": 1, "insolvency": 2, "0": 0, "1": 1, "2": 2}


def backend_option(what: str) -> Callable[[Any], Any]:
    return click.option(
        "--backend", type=click.Choice([AUTO, *NAMES]), default=None,
        help=f"Prover backend that {what} (default: $ZKMARGIN_PROVER_BACKEND, else auto: native when installed, else python).",
    )


def _backend(name: str | None) -> str:
    """The backend that runs (checked: an unavailable one is an error naming the fix)."""
    from prover.backend import get_backend

    return get_backend(name).name


def _parse_int(field: str, text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise ProverInputError(field, f"not an integer: {text!r}") from None


@click.command("setup")
@click.option("--n", "n", type=int, help="Number of instruments (or take it from --epoch).")
@click.option("--scenarios", "s", type=int, help="Number of scenarios S (or take it from --epoch).")
@click.option("--epoch", "epoch_path", type=click.Path(dir_okay=False), help="epoch.json to take n and S from.")
@click.option("--out", "out", type=click.Path(file_okay=False), required=True, help="Artefact root folder.")
@click.option("--seed", default="zkmargin-devnet", show_default=True, help="Public seed of the devnet trapdoor.")
@click.option("--force", is_flag=True, help="Redo the setup even if matching keys exist.")
@backend_option("computes the fixed-base products (the keys are the same on every backend)")
def setup(n: int | None, s: int | None, epoch_path: str | None, out: str, seed: str, force: bool, backend: str | None) -> None:
    """INSECURE single-party devnet setup for the margin circuit (n instruments x S scenarios)."""
    from prover.api import devnet_setup
    from prover.progress import StageProgress
    from prover.statement import Epoch

    if epoch_path:
        ep = Epoch.load(epoch_path)
        n, s = n or ep.n, s or ep.s
    if n is None or s is None:
        raise ProverInputError("--n/--scenarios", "give both sizes or an --epoch file")
    click.echo("warning: INSECURE devnet setup (the trapdoor is derived from a public seed)", err=True)
    engine = _backend(backend)
    click.echo(f"building the margin circuit for n={n} instruments x S={s} scenarios and its proving key in "
               f"{Path(out) / f'margin_n{n}_s{s}'} (reused when present; else seconds to a minute) ...")
    progress = StageProgress(f"setup ({engine})")
    keys = devnet_setup(n, s, out, seed=seed, force=force, progress=progress, backend=engine)
    progress.close("keys ready" if progress.timings else "keys found (same seed), loaded")
    click.echo(f"keys for n={n}, S={s} in {keys.directory}")


@click.command("prove")
@click.option("--keys", "keys_dir", type=click.Path(file_okay=False), required=True, help="Folder with circuit.zkey (from setup).")
@click.option("--witness", "witness_path", type=click.Path(dir_okay=False), help="Prove from this .wtns instead of the inputs below.")
@click.option("--epoch", "epoch_path", type=click.Path(dir_okay=False), help="epoch.json")
@click.option("--account", "account_path", type=click.Path(dir_okay=False),
              help='account JSON: {"q": [lots per instrument], "cash": base units, "salt": int}')
@click.option("--kind", type=click.Choice(sorted(KIND_NAMES)), default="mm", show_default=True)
@click.option("--address", help="Account address (0x... or decimal).")
@click.option("--collateral", help="Vault balance b in token base units.")
@click.option("--out", "out", type=click.Path(file_okay=False), required=True, help="Where proof.json, public.json, witness.wtns go.")
@backend_option("makes the proof")
def prove(
    keys_dir: str,
    witness_path: str | None,
    epoch_path: str | None,
    account_path: str | None,
    kind: str,
    address: str | None,
    collateral: str | None,
    out: str,
    backend: str | None,
) -> None:
    """Make a Groth16 solvency proof (writes proof.json and public.json in snarkjs layout).

    Prints the statement's figures first (equity, requirement, excess, in USD and base units)
    and stops with an error, before any proving, when the statement does not hold."""
    from prover.backend import get_backend, load_key
    from prover.progress import StageProgress

    engine = _backend(backend)
    progress = StageProgress(f"prove ({engine})")
    keys = Path(keys_dir)
    zkey = keys / "circuit.zkey"
    out_dir = Path(out)
    if witness_path:
        progress(f"loading the key ({zkey})", 0, 0)
        pk = load_key(zkey, engine)
        progress(f"reading the witness ({witness_path})", 0, 0)
        w = formats.read_wtns(witness_path)
        if len(w) != pk.n_vars:
            raise ArtefactError(witness_path, f"has {len(w)} values, the key's circuit has {pk.n_vars} signals")
    else:
        from prover.circuit import margin_circuit
        from prover.statement import Account, Epoch

        for name, value in (("--epoch", epoch_path), ("--account", account_path), ("--address", address), ("--collateral", collateral)):
            if value is None:
                raise ProverInputError(name, "required unless --witness is given")
        assert epoch_path and account_path and address and collateral
        epoch_data = formats.read_json(epoch_path, "epoch")
        ep = Epoch.from_json(epoch_data, epoch_path)
        acc = Account.load(account_path)
        addr = _parse_int("--address", address)
        b = _parse_int("--collateral", collateral)
        decimals = epoch_data.get("value_decimals", 6) if isinstance(epoch_data, dict) else 6
        _report_figures(ep, acc, KIND_NAMES[kind], addr, b, decimals if isinstance(decimals, int) else 6)
        progress(f"loading the key ({zkey})", 0, 0)
        pk = load_key(zkey, engine)
        progress(f"building the circuit (n={ep.n}, S={ep.s}) and the witness", 0, 0)
        mc = margin_circuit(ep.n, ep.s)
        if mc.cs.n_signals != pk.n_vars:
            raise ArtefactError(str(zkey), f"the key is not for a margin circuit with n={ep.n}, S={ep.s}")
        w = mc.witness(ep, acc, KIND_NAMES[kind], addr, b)
        formats.write_wtns(out_dir / "witness.wtns", w)
    click.echo(f"proving (Groth16 over BN254, {pk.n_vars:,} signals, {engine} backend) ...")
    progress(f"proving ({pk.n_vars:,} signals)", 0, 0)
    proof, public = get_backend(engine).prove(pk, w)
    formats.write_proof(out_dir / "proof.json", proof)
    formats.write_public(out_dir / "public.json", public)
    progress.close("proof made")
    click.echo(f"proof written to {out_dir / 'proof.json'} (public inputs [C, D, kind, account, collateral] in {out_dir / 'public.json'})")


def _usd(units: int, decimals: int) -> str:
    """``units`` of the collateral token as USD with its base units: ``5,000.00 USD (5000000000 units)``."""
    return f"{units / 10**decimals:,.2f} USD ({units} units)"


def _report_figures(ep: Any, acc: Any, kind: int, address: int, collateral: int, decimals: int) -> None:
    """Print what the proof will state (equity, requirement, excess); raise before any proving
    when the statement does not hold (:class:`prover.errors.UnsatisfiedError`, exit 2)."""
    from prover.errors import UnsatisfiedError
    from prover.statement import ACCOUNT_BITS, BPS, KIND_IM, KIND_INSOLVENCY, KIND_MM

    if not 0 <= address < (1 << ACCOUNT_BITS):
        raise ProverInputError("--address", f"must be a 160-bit address, got {address}")
    mm = ep.figures(KIND_MM, list(acc.q), acc.cash, collateral)
    requirement = mm.requirement if kind != KIND_IM else -((-mm.requirement * ep.im_factor_bps) // BPS)
    excess = mm.equity - requirement
    name = {KIND_MM: "maintenance (MM)", KIND_IM: f"initial (IM = MM x {ep.im_factor_bps / BPS:g})",
            KIND_INSOLVENCY: "insolvency (equity < MM)"}[kind]
    held = sum(1 for x in acc.q if x)
    click.echo(f"account {address:#042x}: {held} of {ep.n} instruments held, collateral {_usd(collateral, decimals)}")
    click.echo(f"epoch {ep.epoch_id}, {name} statement: equity {_usd(mm.equity, decimals)}, "
               f"requirement {_usd(requirement, decimals)}, excess {_usd(excess, decimals)}")
    holds = excess < 0 if kind == KIND_INSOLVENCY else excess >= 0
    if not holds:
        if kind == KIND_INSOLVENCY:
            raise UnsatisfiedError("account", f"not insolvent for kind 2: equity {mm.equity} >= requirement {requirement} "
                                              f"(excess {excess} units); nothing to prove")
        raise UnsatisfiedError("account", f"the {name} statement does not hold: equity {mm.equity} < requirement "
                                          f"{requirement} (excess {excess} units); no proof can be made")


@click.command("verify")
@click.option("--vk", "vk_path", type=click.Path(dir_okay=False), required=True, help="verification_key.json")
@click.option("--proof", "proof_path", type=click.Path(dir_okay=False), required=True, help="proof.json")
@click.option("--public", "public_path", type=click.Path(dir_okay=False), required=True, help="public.json")
@backend_option("checks the proof (every backend gives the same answer)")
def verify(vk_path: str, proof_path: str, public_path: str, backend: str | None) -> None:
    """Verify a Groth16 proof (exit 0 when valid, 1 when not)."""
    from prover.backend import get_backend

    vk = formats.read_verification_key(vk_path)
    proof = formats.read_proof(proof_path)
    public = formats.read_public(public_path)
    if len(public) != vk.n_public:
        raise ProverInputError(public_path, f"has {len(public)} public inputs, the key expects {vk.n_public}")
    if get_backend(backend).verify(vk, proof, public):
        click.echo("OK: proof is valid")
        return
    raise VerificationFailed(f"INVALID: {proof_path} does not verify against {vk_path} with {public_path}")


@click.command("export-verifier")
@click.option("--vk", "vk_path", type=click.Path(dir_okay=False), required=True, help="verification_key.json")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="Solidity file to write.")
@click.option("--name", "name", default="Groth16Verifier", show_default=True, help="Contract name.")
def export_verifier(vk_path: str, out: str, name: str) -> None:
    """Write a Solidity verifier (IGroth16Verifier) for a verification key."""
    from prover.solidity import generate_verifier

    vk = formats.read_verification_key(vk_path)
    formats.write_atomic(out, generate_verifier(vk, name))
    click.echo(f"verifier {name} written to {out}")


@click.command("backends")
def backends() -> None:
    """List the prover backends, whether each can run here, and which one runs by default."""
    from prover.backend import available_backends, backend_name, get_backend

    default = backend_name()
    for name, problem in available_backends().items():
        mark = "*" if name == default else " "
        if problem is None:
            click.echo(f"{mark} {name:10s} available   {get_backend(name).license}")
        else:
            click.echo(f"{mark} {name:10s} unavailable {problem}")
    click.echo("(* runs by default: set --backend, ZKMARGIN_PROVER_BACKEND or prover.backend.set_backend to change)")


commands = [setup, prove, verify, export_verifier, backends]
