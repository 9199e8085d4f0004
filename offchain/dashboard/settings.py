"""What the dashboard pages read from their environment (set by ``zkmargin dashboard``).

=============================== =========================================== =====================
variable                        meaning                                     default
=============================== =========================================== =====================
``ZKMARGIN_DASHBOARD_STATE``    the deployment's state dir (``ape run deploy --state-dir``) ``out/devnet``
``ZKMARGIN_DASHBOARD_RPC``      the node's JSON-RPC URL                     ``http://127.0.0.1:8545``
``ZKMARGIN_DASHBOARD_RESULTS``  result roots, separated by ``os.pathsep``   ``out``
``ZKMARGIN_DASHBOARD_REFRESH``  seconds between live refreshes              ``2``
``ZKMARGIN_DASHBOARD_TIERS``    a margin-call config whose tiers to use     (built-in tiers)
=============================== =========================================== =====================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_STATE = "ZKMARGIN_DASHBOARD_STATE"
ENV_RPC = "ZKMARGIN_DASHBOARD_RPC"
ENV_RESULTS = "ZKMARGIN_DASHBOARD_RESULTS"
ENV_REFRESH = "ZKMARGIN_DASHBOARD_REFRESH"
ENV_TIERS = "ZKMARGIN_DASHBOARD_TIERS"


@dataclass(frozen=True)
class Settings:
    state_dir: Path
    rpc_url: str
    results: tuple[Path, ...]
    refresh_s: float
    tiers_config: Path | None

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        refresh = float(env.get(ENV_REFRESH, "2") or 2)
        tiers = env.get(ENV_TIERS)
        return cls(
            state_dir=Path(env.get(ENV_STATE, str(Path("out") / "devnet"))),
            rpc_url=env.get(ENV_RPC, "http://127.0.0.1:8545"),
            results=tuple(Path(p) for p in env.get(ENV_RESULTS, "out").split(os.pathsep) if p),
            refresh_s=max(0.5, refresh),
            tiers_config=Path(tiers) if tiers else None,
        )

    def environ(self) -> dict[str, str]:
        """These settings as the variables a dashboard process reads."""
        out = {ENV_STATE: str(self.state_dir), ENV_RPC: self.rpc_url,
               ENV_RESULTS: os.pathsep.join(str(p) for p in self.results), ENV_REFRESH: str(self.refresh_s)}
        if self.tiers_config is not None:
            out[ENV_TIERS] = str(self.tiers_config)
        return out
