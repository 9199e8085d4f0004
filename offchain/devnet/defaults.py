"""Defaults the devnet scripts, the demo and the pytest fixtures share (one place for each).

``deploy_default`` deploys the devnet protocol the way ``ape run deploy`` and the fixtures do:
8 instruments x 15 scenarios listed around ``DEFAULT_SPOTS``, first prices reported, epoch 1
posted with ``DEFAULT_VOLS``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: Spots (USD) the devnet lists instruments around and reports first.
DEFAULT_SPOTS = {"BTC": 43_000.0, "ETH": 3_400.0}
#: Implied vols per underlying used for option marks and vol shocks.
DEFAULT_VOLS = {"BTC": 0.8, "ETH": 0.9}
#: Grace window after each epoch (seconds).
DEFAULT_GRACE_SECONDS = 600
#: Where the scripts keep a deployment, the operator's book, the epochs and keeper state.
DEFAULT_STATE_DIR = Path("out") / "devnet"


def zk_cache_dir() -> Path:
    """Where the deterministic devnet proving keys are cached (``$ZKMARGIN_ZK_DIR`` or ``.build/zk``)."""
    env = os.environ.get("ZKMARGIN_ZK_DIR")
    return Path(env) if env else Path.cwd() / ".build" / "zk"


def deploy_default(owner: Any, spots: dict[str, float] | None = None, vols: dict[str, float] | None = None, **kw: Any) -> Any:
    """Deploy the devnet protocol (8 instruments x 15 scenarios), report ``spots``, post epoch 1."""
    from ape import chain

    from offchain.devnet.listing import devnet_listing, devnet_risk_config
    from offchain.devnet.session import Protocol

    spots = dict(spots or DEFAULT_SPOTS)
    now = int(chain.blocks.head.timestamp)
    kw.setdefault("grace_period_seconds", DEFAULT_GRACE_SECONDS)
    p = Protocol.deploy(owner, devnet_listing(now, spots), zk_dir=zk_cache_dir(), risk_config=devnet_risk_config(), **kw)
    p.report_prices(spots)
    p.post_epoch(vols=dict(vols or DEFAULT_VOLS))
    return p
