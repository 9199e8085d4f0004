"""The deployment a settler works on: the contract addresses saved in ``<state-dir>/deployment.json``.

The file is the one :meth:`offchain.devnet.session.Protocol.save` writes; the settler reads only
``version``, ``chain_id``, ``contracts`` (``settlement``, ``accounts``, ``vault``, ``epochs`` and
``transition_verifier`` or ``verifier``) and ``verifier_type``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from offchain.validation import load_json
from zkmargin.errors import InputError

DEPLOYMENT_VERSION = 1
REQUIRED = ("settlement", "accounts", "vault", "epochs")


@dataclass(frozen=True)
class DeploymentInfo:
    """What the settler needs to reach a deployment."""

    chain_id: int
    contracts: dict[str, str]
    verifier_type: str

    @property
    def mock_verifier(self) -> bool:
        return self.verifier_type == "MockVerifier"

    @property
    def transition_verifier(self) -> str:
        return self.contracts.get("transition_verifier") or self.contracts["verifier"]


def read_deployment(state_dir: str | Path) -> DeploymentInfo:
    """Read ``deployment.json`` under ``state_dir`` (``InputError`` naming the file and field)."""
    path = Path(state_dir) / "deployment.json"
    if not path.is_file():
        raise InputError(str(path), "no deployment here (deploy first, or pass --state-dir)")
    obj = load_json(str(path), field="deployment")
    if not isinstance(obj, dict):
        raise InputError(str(path), "must be a JSON object")
    if obj.get("version") != DEPLOYMENT_VERSION:
        raise InputError(f"{path}.version", f"expected {DEPLOYMENT_VERSION}, got {obj.get('version')!r}")
    contracts = obj.get("contracts")
    if not isinstance(contracts, dict):
        raise InputError(f"{path}.contracts", "missing or not an object")
    for name in (*REQUIRED, "verifier"):
        if not isinstance(contracts.get(name), str):
            raise InputError(f"{path}.contracts.{name}", "missing")
    try:
        chain_id = int(obj["chain_id"])
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{path}.chain_id", "missing or not an integer") from None
    return DeploymentInfo(chain_id, {str(k): str(v) for k, v in contracts.items()}, str(obj.get("verifier_type", "")))
