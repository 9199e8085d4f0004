"""pytest fixtures for devnet integration tests of zkmargin, usable from any ape project.

Installed as a pytest plugin (entry point ``pytest11: zkmargin``), so an ape test suite that has
zkmargin installed can use, with no import::

    def test_crash_liquidates(zkm_protocol, zkm_users, zkm_liquidator):
        p = zkm_protocol
        p.open_account(zkm_users[0], {"BTC-PERP": 2_000}, deposit_units=20_000 * 10**6)
        p.report_prices({"BTC": 0.6 * p.spots["BTC"], "ETH": p.spots["ETH"]})
        p.post_epoch(vols=zkm_vols)
        ...

The fixtures need ape's own (``accounts``, ``chain``), so run under ``ape test``. Deployments
are session-scoped; ape's isolation restores the chain around each test, but the
:class:`~offchain.devnet.session.Protocol` object keeps off-chain state (the operator's book,
the latest epoch), so tests that change it should use ``zkm_fresh_protocol``.
"""

from __future__ import annotations

from typing import Any

import pytest

from offchain.devnet.defaults import DEFAULT_VOLS, deploy_default


@pytest.fixture(scope="session")
def zkm_vols() -> dict[str, float]:
    return dict(DEFAULT_VOLS)


@pytest.fixture(scope="session")
def zkm_owner(accounts: Any) -> Any:
    """Deployer, risk keeper, oracle reporter and operator."""
    return accounts[0]


@pytest.fixture(scope="session")
def zkm_users(accounts: Any) -> list[Any]:
    """Trader accounts (no commitment yet)."""
    return [accounts[i] for i in range(1, 7)]


@pytest.fixture(scope="session")
def zkm_liquidator(accounts: Any) -> Any:
    """A liquidator address (never opens a margin account)."""
    return accounts[9]


@pytest.fixture(scope="session")
def zkm_protocol(zkm_owner: Any) -> Any:
    """One deployment per session with epoch 1 posted."""
    return deploy_default(zkm_owner)


@pytest.fixture
def zkm_fresh_protocol(zkm_owner: Any) -> Any:
    """A new deployment for a test that changes the off-chain state."""
    return deploy_default(zkm_owner)
