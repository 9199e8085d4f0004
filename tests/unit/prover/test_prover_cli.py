"""``zkmargin setup | prove | verify | export-verifier`` end to end and their error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zkmargin.cli import main

EPOCH = {"epoch_id": 3, "im_factor_bps": 15000, "marks": [100, 200], "scenario_pnl": [[1, -5, 2], [3, 4, -1]], "addons": [2, 3]}
ACCOUNT = {"q": [5, -3], "cash": -100, "salt": 42}


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    (d / "epoch.json").write_text(json.dumps(EPOCH))
    (d / "account.json").write_text(json.dumps(ACCOUNT))
    assert main(["setup", "--epoch", str(d / "epoch.json"), "--out", str(d / "keys"), "--seed", "cli-test"]) == 0
    return d


def _prove(work: Path, out: str, kind: str = "mm") -> int:
    return main([
        "prove", "--keys", str(work / "keys/margin_n2_s3"), "--epoch", str(work / "epoch.json"),
        "--account", str(work / "account.json"), "--kind", kind, "--address", "0xabc", "--collateral", "1000",
        "--out", str(work / out),
    ])


def test_setup_prove_verify_export(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _prove(work, "p1") == 0
    vk = str(work / "keys/margin_n2_s3/verification_key.json")
    assert main(["verify", "--vk", vk, "--proof", str(work / "p1/proof.json"), "--public", str(work / "p1/public.json")]) == 0
    public = json.loads((work / "p1/public.json").read_text())
    assert public[2:] == ["0", str(0xABC), "1000"]
    # prove again from the written witness
    assert main(["prove", "--keys", str(work / "keys/margin_n2_s3"), "--witness", str(work / "p1/witness.wtns"), "--out", str(work / "p2")]) == 0
    assert main(["verify", "--vk", vk, "--proof", str(work / "p2/proof.json"), "--public", str(work / "p1/public.json")]) == 0
    sol = work / "V.sol"
    assert main(["export-verifier", "--vk", vk, "--out", str(sol), "--name", "CliVerifier"]) == 0
    assert "contract CliVerifier is IGroth16Verifier" in sol.read_text()
    # a tampered public input: exit 1, not 2
    public[3] = "1"
    (work / "bad_public.json").write_text(json.dumps(public))
    assert main(["verify", "--vk", vk, "--proof", str(work / "p1/proof.json"), "--public", str(work / "bad_public.json")]) == 1


def test_statement_not_holding_is_a_clear_error(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _prove(work, "p3", kind="insolvency") == 2
    assert "error: account: not insolvent for kind 2" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "--vk", "{w}/nope.json", "--proof", "{w}/p1/proof.json", "--public", "{w}/p1/public.json"], "error: {w}/nope.json: verification key file not found"),
        (["verify", "--vk", "{w}/epoch.json", "--proof", "{w}/p1/proof.json", "--public", "{w}/p1/public.json"], "error: {w}/epoch.json: missing field 'vk_alpha_1'"),
        (["verify", "--vk", "{w}/keys/margin_n2_s3/verification_key.json", "--proof", "{w}/account.json", "--public", "{w}/p1/public.json"], "error: {w}/account.json: missing field 'pi_a'"),
        (["verify", "--vk", "{w}/keys/margin_n2_s3/verification_key.json", "--proof", "{w}/p1/proof.json", "--public", "{w}/garbage.txt"], "error: {w}/garbage.txt: public inputs file is not valid JSON"),
        (["prove", "--keys", "{w}/nokeys", "--witness", "{w}/p1/witness.wtns", "--out", "{w}/x"], "error: {w}/nokeys/circuit.zkey: zkey file not found"),
        (["prove", "--keys", "{w}/badkeys", "--witness", "{w}/p1/witness.wtns", "--out", "{w}/x"], "error: {w}/badkeys/circuit.zkey: truncated zkey file"),
        (["prove", "--keys", "{w}/keys/margin_n2_s3", "--witness", "{w}/garbage.txt", "--out", "{w}/x"], "error: {w}/garbage.txt: not a witness file"),
        (["prove", "--keys", "{w}/keys/margin_n2_s3", "--out", "{w}/x"], "error: --epoch: required unless --witness is given"),
        (["setup", "--out", "{w}/k2"], "error: --n/--scenarios: give both sizes or an --epoch file"),
    ],
)
def test_errors_name_the_file_and_problem(work: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    if not (work / "p1/witness.wtns").exists():
        assert _prove(work, "p1") == 0
    (work / "garbage.txt").write_text("garbage")
    (work / "badkeys").mkdir(exist_ok=True)
    (work / "badkeys/circuit.zkey").write_bytes((work / "keys/margin_n2_s3/circuit.zkey").read_bytes()[:300])
    capsys.readouterr()
    assert main([a.format(w=work) for a in args]) == 2
    assert message.format(w=work) in capsys.readouterr().err


def test_api_cached_setup(tmp_path: Path) -> None:
    from prover.api import devnet_setup, load_keys

    keys = devnet_setup(2, 3, tmp_path, seed="api-test")
    again = devnet_setup(2, 3, tmp_path, seed="api-test")  # loads, same key
    assert again.vk == keys.vk and load_keys(tmp_path, 2, 3).vk == keys.vk
    assert devnet_setup(2, 3, tmp_path / "other", seed="other").vk != keys.vk
    # the python backend's fixed-base products give the same keys as the default (native) ones
    assert devnet_setup(2, 3, tmp_path / "py", seed="api-test", backend="python").zkey_path.read_bytes() == \
        keys.zkey_path.read_bytes()


def test_backends_and_progress_output(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not (work / "p1/witness.wtns").exists():
        assert _prove(work, "p1") == 0
    keys, vk = str(work / "keys/margin_n2_s3"), str(work / "keys/margin_n2_s3/verification_key.json")
    capsys.readouterr()
    for backend in ("python", "native"):
        out = work / f"p_{backend}"
        assert main(["prove", "--backend", backend, "--keys", keys, "--witness", str(work / "p1/witness.wtns"),
                     "--out", str(out)]) == 0
        err = capsys.readouterr().err
        assert f"prove ({backend}): loading the key" in err and f"prove ({backend}): proving (2,341 signals)" in err
        assert f"prove ({backend}): proof made in" in err
        other = "native" if backend == "python" else "python"
        assert main(["verify", "--backend", other, "--vk", vk, "--proof", str(out / "proof.json"),
                     "--public", str(out / "public.json")]) == 0
    assert main(["backends"]) == 0
    listing = capsys.readouterr().out
    assert "* native" in listing and "python     available" in listing and "groth16py" in listing
    assert main(["prove", "--backend", "fastest", "--keys", keys, "--witness", str(work / "p1/witness.wtns"),
                 "--out", str(work / "x")]) == 2
    assert main(["setup", "--n", "2", "--scenarios", "3", "--out", str(work / "keys"), "--seed", "cli-test"]) == 0
    assert "keys found (same seed), loaded" in capsys.readouterr().err


def test_prove_prints_the_figures_it_proves(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # by hand: equity = 1000 - 100 + 5*100 - 3*200 = 800; losses = (4, 37, -13) -> 37;
    # add-on 5*2 + 3*3 = 19 -> requirement 56; excess 744 (units of the collateral token)
    capsys.readouterr()
    assert _prove(work, "p4") == 0
    out = capsys.readouterr().out
    assert "equity 0.00 USD (800 units), requirement 0.00 USD (56 units), excess 0.00 USD (744 units)" in out
    assert "maintenance (MM) statement" in out
    # IM: requirement ceil(56 * 1.5) = 84
    assert _prove(work, "p5", kind="im") == 0
    assert "requirement 0.00 USD (84 units), excess 0.00 USD (716 units)" in capsys.readouterr().out


def test_insolvent_prove_fails_before_loading_keys(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code = main(["prove", "--keys", str(work / "no-such-keys"), "--epoch", str(work / "epoch.json"),
                 "--account", str(work / "account.json"), "--kind", "insolvency", "--address", "0xabc",
                 "--collateral", "1000", "--out", str(work / "p6")])
    assert code == 2
    err = capsys.readouterr().err
    assert "error: account: not insolvent for kind 2: equity 800 >= requirement 56" in err
    assert "zkey" not in err and not (work / "p6").exists()


@pytest.mark.parametrize(
    ("account", "message"),
    [
        ({"q": [5, 1.5], "cash": -100, "salt": 42}, "q[1]: must be a whole number of lots, got 1.5 (fractional lots are not allowed)"),
        ({"q": [5.0, -3], "cash": -100, "salt": 42}, "q[0]: must be a whole number of lots written as an integer, got 5.0"),
        ({"q": [5, -3], "cash": -100.5, "salt": 42}, "cash: must be a whole number, got -100.5"),
        ({"q": [5, -3], "cash": -100, "salt": 42, "sallt": 1}, "sallt: unknown key (known: cash, q, salt)"),
        ({"q": [5, -3], "cash": -100}, "missing field 'salt'"),
        ({"q": [5, "x"], "cash": -100, "salt": 42}, "q[1]: must be a whole number of lots (an integer or a decimal string), got 'x'"),
    ],
)
def test_account_file_is_checked_not_truncated(work: Path, capsys: pytest.CaptureFixture[str], account: dict, message: str) -> None:
    bad = work / "bad_account.json"
    bad.write_text(json.dumps(account))
    capsys.readouterr()
    code = main(["prove", "--keys", str(work / "keys/margin_n2_s3"), "--epoch", str(work / "epoch.json"),
                 "--account", str(bad), "--address", "0xabc", "--collateral", "1000", "--out", str(work / "p7")])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (work / "p7").exists()


def test_epoch_values_must_be_whole_numbers(tmp_path: Path) -> None:
    from prover.errors import ProverInputError
    from prover.statement import Epoch

    with pytest.raises(ProverInputError, match=r"marks\[1\]: must be a whole number, got 200.5"):
        Epoch.from_json({**EPOCH, "marks": [100, 200.5]}, "e")
    assert Epoch.from_json({**EPOCH, "marks": ["100", "200"]}, "e").marks == (100, 200)
