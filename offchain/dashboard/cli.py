"""``zkmargin dashboard``: serve the Streamlit dashboard on 127.0.0.1 (a ``streamlit run`` child process).

Streamlit runs in this virtual environment (its pins resolve with the ape stack: ``pip check``
is clean), as a separate process so its server and script threads never share a process with
ape. The pages read their settings from the environment (:mod:`offchain.dashboard.settings`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import click

from zkmargin.errors import InputError

APP = Path(__file__).resolve().parent / "app.py"
LOOPBACK = "127.0.0.1"


def streamlit_command(port: int) -> list[str]:
    """The command line that serves the app on ``127.0.0.1:port`` (headless, no telemetry, no file watcher)."""
    return [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", LOOPBACK, "--server.port", str(port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
            "--global.developmentMode", "false", "--client.toolbarMode", "minimal"]


@click.command("dashboard")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("out") / "devnet",
              show_default=True, help="The deployment to watch (the --state-dir of `ape run deploy`).")
@click.option("--rpc", "rpc_url", default="http://127.0.0.1:8545", show_default=True, help="The node's JSON-RPC URL.")
@click.option("--results", "results", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folders to look for simulator runs, sweeps and demo reports in (repeatable; default: out).")
@click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65_535), help="Port on 127.0.0.1.")
@click.option("--refresh", "refresh_s", default=2.0, show_default=True, type=click.FloatRange(0.5, 3_600),
              help="Seconds between refreshes of the live page.")
@click.option("--tiers-config", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A margin-call config whose health tiers the live page uses (default: built-in tiers).")
def dashboard(state_dir: Path, rpc_url: str, results: tuple[Path, ...], port: int, refresh_s: float,
              tiers_config: Path | None) -> None:
    """Serve the dashboard: devnet live view, margin calculator, results explorer."""
    from offchain.dashboard.settings import Settings

    if not rpc_url.startswith(("http://", "https://")):
        raise InputError("--rpc", f"must be an http(s):// URL, got {rpc_url!r}")
    if tiers_config is not None:
        from offchain.devnet.margin_calls import load_config

        load_config(tiers_config, field=str(tiers_config))  # bad tiers fail here, not in the browser
    settings = Settings(state_dir=state_dir.resolve(), rpc_url=rpc_url,
                        results=tuple(p.resolve() for p in (results or (Path("out"),))), refresh_s=refresh_s,
                        tiers_config=tiers_config.resolve() if tiers_config else None)
    env = {**os.environ, **settings.environ()}
    click.echo(f"zkmargin dashboard on http://{LOOPBACK}:{port} (Ctrl-C to stop)", err=True)
    proc = subprocess.Popen(streamlit_command(port), env=env)
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        code = proc.wait()
    if code not in (0, -signal.SIGINT):
        raise click.ClickException(f"streamlit exited with status {code}")


commands = [dashboard]
