"""``zkmargin`` risk subcommands: ``margin``, ``price``, ``var``, ``batch``, ``epoch``.

Rich tables for people, ``--json`` for programs (schemas in ``docs/risk-engine.md``). Bad
input raises :class:`~zkmargin.errors.InputError`, which ``zkmargin.cli`` turns into
``error: <field>: <problem>`` and exit status 2; output files are written atomically.
"""

from __future__ import annotations

import io
import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from zkmargin.errors import InputError

if TYPE_CHECKING:
    from offchain.risk.instruments import AnyInstrument


def _console() -> Console:
    return Console(width=120)


def _emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, default=_json_default, allow_nan=False))


def _json_default(x: Any) -> Any:
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"not JSON serializable: {type(x)}")


def _clean(x: Any) -> Any:
    """Replace non-finite floats (not valid JSON) by None, recursively."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def _market(portfolio_market: Any, market_file: str | None) -> Any:
    from offchain.risk.io import load_market

    if market_file:
        return load_market(market_file)
    if portfolio_market is None:
        raise InputError("market", "no market: add a \"market\" object to the portfolio file or pass --market")
    return portfolio_market


def _preset_names() -> list[str]:
    from offchain.risk.margin.presets import preset_names

    return preset_names()


def _config_arg(config: str | None, preset: str | None) -> Any:
    if config and preset:
        raise InputError("--preset", "give --config or --preset, not both")
    if preset:
        return {"preset": preset}
    return config


# --------------------------------------------------------------------------------- margin
@click.command("margin")
@click.option("--portfolio", "portfolio_file", required=True, type=click.Path(dir_okay=False), help="portfolio JSON")
@click.option("--model", "model_name",
              help="isolated|cross|standard_options|risk_matrix|var|dynamic|derive_pm2|span (default: the preset's)")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="model config JSON")
@click.option("--preset", help="venue preset, e.g. deribit_pm, deribit_sm, derive_pm2, aevo_pm (zkmargin compare --venues all)")
@click.option("--market", "market_file", type=click.Path(dir_okay=False), help="market JSON (else the portfolio's)")
@click.option("--moves", is_flag=True, help="also find the spot moves that exhaust the margin")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def margin_cmd(
    portfolio_file: str, model_name: str | None, config_file: str | None, preset: str | None,
    market_file: str | None, moves: bool, as_json: bool,
) -> None:
    """Initial and maintenance margin of a portfolio under one model."""
    from offchain.risk.account import account_view, exhausting_move
    from offchain.risk.io import load_portfolio
    from offchain.risk.margin import get_model
    from offchain.risk.margin.presets import preset_model

    if preset:
        owner = preset_model(preset) if preset in _preset_names() else None
        if owner is None:
            raise InputError("--preset", f"unknown preset {preset!r} (known: {', '.join(_preset_names())})")
        if model_name and model_name != owner:
            raise InputError("--preset", f"preset {preset!r} configures model {owner!r}, not {model_name!r}")
        model_name = owner
    if not model_name:
        raise InputError("--model", "give --model or --preset")
    portfolio, pm = load_portfolio(portfolio_file)
    market = _market(pm, market_file)
    model = get_model(model_name, _config_arg(config_file, preset))
    view, res = account_view(portfolio, market, model)
    from offchain.risk.greeks import portfolio_greeks

    out: dict[str, Any] = {"model": model_name, "account": view.to_dict(), "result": res.to_dict(),
                           "greeks": portfolio_greeks(portfolio, market)}
    if moves:
        out["exhausting_move"] = exhausting_move(portfolio, market, model)
    out = _clean(out)
    if as_json:
        _emit_json(out)
        return
    con = _console()
    t = Table(title=f"{model_name} margin: {Path(portfolio_file).name}")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    for k in ("equity", "im", "mm", "free_collateral"):
        t.add_row(k, f"{out['account'][k]:,.2f}")
    ratio = out["account"]["margin_ratio"]
    t.add_row("margin_ratio (MM / equity)", "n/a (equity <= 0: bankrupt)" if ratio is None else f"{ratio:.4f}")
    t.add_row("health", out["account"]["health"])
    if moves:
        for k, v in out["exhausting_move"].items():
            t.add_row(f"exhausting move {k}", "none" if v is None else f"{v:+.2%}")
    con.print(t)
    gt = Table(title="greeks per underlying")
    for c in ("underlying", "delta", "delta_usd", "gamma", "vega", "theta"):
        gt.add_column(c, justify="left" if c == "underlying" else "right")
    for u, g in out["greeks"].items():
        gt.add_row(u, *[f"{g[c]:,.4g}" for c in ("delta", "delta_usd", "gamma", "vega", "theta")])
    con.print(gt)
    if res.per_position:
        pt = Table(title="positions")
        cols = list(res.per_position[0].keys())
        for c in cols:
            pt.add_column(c)
        for row in out["result"]["per_position"]:
            pt.add_row(*[_fmt(row.get(c)) for c in cols])
        con.print(pt)
    if res.scenario_pnl is not None and res.scenarios is not None:
        st = Table(title="scenario PnL (5 worst)")
        st.add_column("#")
        st.add_column("spot shock")
        st.add_column("vol shock")
        st.add_column("weight")
        st.add_column("PnL", justify="right")
        order = np.argsort(res.scenario_pnl)[:5]
        for s in order:
            sc = res.scenarios[int(s)]
            shock = ", ".join(f"{u} {x:+.1%}" for u, x in sc["spot_shock"].items())
            vol = sc["vol_shock"]
            st.add_row(str(int(s)), shock, f"{vol:+.2f}" if isinstance(vol, (int, float)) else str(vol),
                       f"{sc['weight']:.4g}", f"{res.scenario_pnl[int(s)]:,.2f}")
        con.print(st)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4f}" if abs(v) < 1000 else f"{v:,.2f}"
    return "" if v is None else str(v)


# --------------------------------------------------------------------------------- price
@click.command("price")
@click.option("--spot", type=float, help="spot price (the forward is spot * exp(rate * T))")
@click.option("--forward", type=float, help="forward price (instead of --spot)")
@click.option("--strike", type=float, required=True)
@click.option("--vol", type=float, help="implied vol (annualized fraction, e.g. 0.6)")
@click.option("--premium", type=float, help="option price: solve for the implied vol instead")
@click.option("--days", type=float, help="days to expiry (ACT/365)")
@click.option("--years", type=float, help="years to expiry")
@click.option("--rate", type=float, default=0.0, show_default=True)
@click.option("--type", "option_type", type=click.Choice(["call", "put"]), default="call", show_default=True)
@click.option("--funding-days", type=float,
              help="price an everlasting option funded over this many days instead (needs --spot and --vol)")
@click.option("--json", "as_json", is_flag=True)
def price_cmd(
    spot: float | None, forward: float | None, strike: float, vol: float | None, premium: float | None,
    days: float | None, years: float | None, rate: float, option_type: str, funding_days: float | None,
    as_json: bool,
) -> None:
    """Black-76 price and greeks of a European option (or its implied vol); with --funding-days,
    of an everlasting option (White & Bankman-Fried 2021)."""
    from offchain.risk.pricing.black76 import black76_greeks, implied_vol

    if funding_days is not None:
        _price_everlasting(spot, forward, strike, vol, premium, days, years, rate, option_type, funding_days, as_json)
        return

    if (spot is None) == (forward is None):
        raise InputError("--spot", "give exactly one of --spot and --forward")
    if (days is None) == (years is None):
        raise InputError("--days", "give exactly one of --days and --years")
    t = years if years is not None else float(days) / 365.0  # type: ignore[arg-type]
    for name, val in (("--days" if days is not None else "--years", t), ("--strike", strike),
                      ("--forward", forward), ("--vol", vol), ("--premium", premium)):
        if val is not None and not (math.isfinite(val) and (val > 0 or name == "--premium" and val >= 0)):
            raise InputError(name, "must be finite and > 0" if name != "--premium" else "must be finite and >= 0")
    if not math.isfinite(rate):
        raise InputError("--rate", "must be finite")
    if spot is not None and not (math.isfinite(spot) and spot > 0):
        raise InputError("--spot", "must be finite and > 0")
    f = forward if forward is not None else float(spot) * math.exp(rate * t)  # type: ignore[arg-type]
    if (vol is None) == (premium is None):
        raise InputError("--vol", "give exactly one of --vol and --premium")
    if premium is not None:
        vol = float(implied_vol(premium, f, strike, t, rate, option_type == "call"))
    assert vol is not None
    g = black76_greeks(f, strike, vol, t, rate, option_type == "call")
    out: dict[str, Any] = {"type": option_type, "forward": f, "strike": strike, "years": t, "rate": rate, "vol": vol,
           "price": float(g.price), "delta": float(g.delta), "gamma": float(g.gamma),
           "vega": float(g.vega), "theta": float(g.theta)}
    if as_json:
        _emit_json(out)
        return
    table = Table(title=f"Black-76 {option_type}")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for k, v in out.items():
        table.add_row(k, v if isinstance(v, str) else f"{v:.6g}")
    _console().print(table)


def _price_everlasting(
    spot: float | None, forward: float | None, strike: float, vol: float | None, premium: float | None,
    days: float | None, years: float | None, rate: float, option_type: str, funding_days: float, as_json: bool,
) -> None:
    from offchain.risk.pricing.everlasting import everlasting_greeks

    for name, given in (("--forward", forward), ("--premium", premium), ("--days", days), ("--years", years)):
        if given is not None:
            raise InputError(name, "not with --funding-days (an everlasting option has no expiry)")
    if spot is None:
        raise InputError("--spot", "required with --funding-days")
    if vol is None:
        raise InputError("--vol", "required with --funding-days")
    for name, val in (("--funding-days", funding_days), ("--spot", spot), ("--strike", strike), ("--vol", vol)):
        if not (math.isfinite(val) and val > 0):
            raise InputError(name, "must be finite and > 0")
    if not math.isfinite(rate):
        raise InputError("--rate", "must be finite")
    period = funding_days / 365.0
    g = everlasting_greeks(spot, strike, vol, period, rate, option_type == "call")
    out: dict[str, Any] = {"type": f"everlasting {option_type}", "spot": spot, "strike": strike,
                           "funding_days": funding_days, "rate": rate, "vol": vol, "price": float(g.price),
                           "payoff": float(g.payoff), "funding_per_day": float(g.funding_per_period) / funding_days,
                           "delta": float(g.delta), "gamma": float(g.gamma), "vega": float(g.vega),
                           "theta": float(g.theta)}
    if as_json:
        _emit_json(out)
        return
    table = Table(title=f"everlasting {option_type} (funding period {funding_days:g} days)")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for k, v in out.items():
        table.add_row(k, v if isinstance(v, str) else f"{v:.6g}")
    _console().print(table)


# ----------------------------------------------------------------------------------- var
@click.command("var")
@click.option("--history", "history_file", required=True, type=click.Path(dir_okay=False), help="price history CSV/JSON")
@click.option("--portfolio", "portfolio_file", type=click.Path(dir_okay=False), help="portfolio JSON (full revaluation)")
@click.option("--market", "market_file", type=click.Path(dir_okay=False))
@click.option("--method", type=click.Choice(["historical", "filtered_historical", "monte_carlo", "parametric_normal",
                                             "delta_gamma"]), default="historical", show_default=True)
@click.option("--confidence", type=float, default=0.99, show_default=True)
@click.option("--horizon", "horizon_days", type=int, default=1, show_default=True)
@click.option("--lookback", "lookback_days", type=int, default=250, show_default=True)
@click.option("--paths", type=int, default=10000, show_default=True, help="Monte Carlo paths")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--backtest", is_flag=True,
              help="rolling backtest: exceptions, Kupiec POF, Christoffersen independence / conditional coverage, "
                   "Basel traffic light")
@click.option("--exposure", multiple=True, help="UNDERLYING=USD notional for the backtest (repeatable)")
@click.option("--json", "as_json", is_flag=True)
def var_cmd(
    history_file: str, portfolio_file: str | None, market_file: str | None, method: str, confidence: float,
    horizon_days: int, lookback_days: int, paths: int, seed: int, backtest: bool, exposure: tuple[str, ...],
    as_json: bool,
) -> None:
    """VaR and ES (historical, filtered historical, Monte Carlo, delta-normal, delta-gamma) and backtests."""
    from offchain.risk.io import load_history, load_portfolio
    from offchain.risk.margin import load_config
    from offchain.risk.margin.var import VaRConfig, VaRMargin, exposure_var_es
    from offchain.risk.margin.var import backtest as run_backtest

    history = load_history(history_file)
    cfg = load_config("var", {"method": method, "confidence": confidence, "horizon_days": horizon_days,
                              "lookback_days": lookback_days, "paths": paths, "seed": seed})
    assert isinstance(cfg, VaRConfig)
    out: dict[str, Any] = {"method": method, "confidence": confidence, "horizon_days": horizon_days,
                           "lookback_days": lookback_days}
    exp: dict[str, float] = {}
    for item in exposure:
        if "=" not in item:
            raise InputError("--exposure", f"expected UNDERLYING=USD, got {item!r}")
        u, v = item.split("=", 1)
        try:
            exp[u] = float(v)
        except ValueError:
            raise InputError("--exposure", f"not a number: {v!r}") from None
        if not math.isfinite(exp[u]):
            raise InputError("--exposure", "must be finite")
    if portfolio_file:
        portfolio, pm = load_portfolio(portfolio_file)
        market = _market(pm, market_file)
        res = VaRMargin(cfg, history=history).requirement(portfolio, market)
        out["portfolio"] = {"var": res.details["var"], "es": res.details["es"], "scenarios": res.details["scenarios"]}
        if not exp:
            from offchain.risk.margin.base import net_positions

            net = net_positions(portfolio, market)
            # delta notional: linear size * price, options size * spot delta * spot
            notional = net.table.sensitivities().delta * net.size * net.table.spot
            exp = {u: float(notional[net.table.u_index == k].sum()) for k, u in enumerate(net.table.underlyings)}
    if portfolio_file:
        out["on"] = f"portfolio {portfolio_file} ({len(portfolio.positions)} positions)"
    elif exp:
        out["on"] = "linear exposures " + ", ".join(f"{u} {v:,.0f} USD" for u, v in exp.items())
    else:
        exp = {u: 1_000_000.0 for u in history}
        out["on"] = ("linear exposures of 1,000,000 USD long in each underlying of the history ("
                     + ", ".join(exp) + "; no --portfolio or --exposure given)")
    if not portfolio_file:
        from offchain.risk.margin.var import history_matrix

        prices = history_matrix(history, tuple(exp))
        rets = np.diff(np.log(prices), axis=0)
        w = np.array([exp[u] for u in exp])
        var_v, es_v = exposure_var_es(w, rets, cfg)
        out["exposure"] = exp
        from offchain.risk.margin.var import PARAMETRIC, scenario_returns

        n_scen = 0 if cfg.method in PARAMETRIC else int(scenario_returns(rets, cfg).shape[0])
        out["linear"] = {"var": var_v, "es": es_v, "scenarios": n_scen}
    if backtest:
        out["backtest"] = run_backtest(history, exp, cfg).to_dict()
        out["backtest"]["exposure"] = exp
    if as_json:
        _emit_json(_clean(out))
        return
    _console().print(f"VaR and ES on {out['on']}")
    t = Table(title=f"{method} VaR/ES at {confidence:.1%}, {horizon_days}-day")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    for key in ("portfolio", "linear"):
        if key in out:
            t.add_row(f"{key} VaR", f"{out[key]['var']:,.2f}")
            t.add_row(f"{key} ES", f"{out[key]['es']:,.2f}")
    if backtest:
        b = out["backtest"]
        for k in ("observations", "exceptions", "expected_exceptions", "kupiec_lr", "kupiec_p_value", "reject_at_5pct",
                  "christoffersen_lr_ind", "christoffersen_p_ind", "christoffersen_lr_cc", "christoffersen_p_cc",
                  "basel_zone", "basel_plus_factor"):
            t.add_row(k, f"{b[k]:.4g}" if isinstance(b[k], float) else str(b[k]))
    _console().print(t)


# --------------------------------------------------------------------------------- batch
@click.command("batch")
@click.option("--market", "market_file", required=True, type=click.Path(dir_okay=False))
@click.option("--listing", "listing_file", type=click.Path(dir_okay=False), help='{"instruments": [...]} (else synthetic)')
@click.option("--accounts", "accounts_file", type=click.Path(dir_okay=False), help="NPZ with indptr, indices, sizes")
@click.option("--synthetic", type=int, help="generate this many random accounts instead")
@click.option("--instruments", "n_instruments", type=int, default=200, show_default=True, help="synthetic listing size")
@click.option("--positions", type=int, default=5, show_default=True, help="positions per synthetic account")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--preset", default=None, help="risk_matrix preset (default deribit_pm)")
@click.option("--config", "config_file", type=click.Path(dir_okay=False))
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="per-account results (.npz or .csv)")
@click.option("--shards", type=click.IntRange(1), default=None,
              help="split the accounts into this many row ranges, margined on the executor (same result)")
@click.option("--executor", "kind", type=click.Choice(["sequential", "local", "ray"]), default=None,
              help="where shards run (default local; ray with --ray-address)")
@click.option("--workers", type=click.IntRange(1), default=None, help="shards at once (default: the CPUs)")
@click.option("--ray-address", default=None, help="a Ray cluster to run the shards on")
@click.option("--json", "as_json", is_flag=True)
def batch_cmd(
    market_file: str, listing_file: str | None, accounts_file: str | None, synthetic: int | None,
    n_instruments: int, positions: int, seed: int, preset: str | None, config_file: str | None,
    out_file: str | None, shards: int | None, kind: str | None, workers: int | None, ray_address: str | None,
    as_json: bool,
) -> None:
    """Risk-matrix margin for many sparse accounts at once (optionally sharded over workers)."""
    from offchain.risk.batch import BatchEngine, synthetic_accounts, synthetic_listing
    from offchain.risk.io import load_market
    from offchain.risk.margin import load_config
    from offchain.validation import load_json, parse_model

    market = load_market(market_file)
    cfg = load_config("risk_matrix", _config_arg(config_file, preset) or {})
    if listing_file:
        from pydantic import BaseModel

        from offchain.risk.instruments import Instrument

        class _Listing(BaseModel):
            instruments: list[Instrument]

        listing: Sequence[AnyInstrument] = parse_model(_Listing, load_json(listing_file, field="listing")).instruments
    else:
        if not 1 <= n_instruments <= 100_000:
            raise InputError("--instruments", "must be in [1, 100000]")
        listing = synthetic_listing(market, n_instruments, seed)
    if (accounts_file is None) == (synthetic is None):
        raise InputError("--accounts", "give exactly one of --accounts and --synthetic")
    if synthetic is not None and synthetic < 1:
        raise InputError("--synthetic", "must be >= 1")
    if kind == "ray" and not ray_address:
        raise InputError("--ray-address", "--executor ray needs the address of a running Ray cluster")
    sharded = shards is not None or kind is not None or workers is not None or ray_address is not None
    arrays = None
    if accounts_file is not None:
        try:
            with np.load(str(accounts_file)) as z:
                arrays = z["indptr"], z["indices"], z["sizes"]
        except FileNotFoundError:
            raise InputError("--accounts", f"file not found: {accounts_file}") from None
        except (KeyError, ValueError, OSError) as exc:
            raise InputError("--accounts", f"not an NPZ with indptr, indices, sizes: {exc}") from None
    engine = BatchEngine(listing, market, cfg)  # type: ignore[arg-type]
    if sharded:
        from offchain.risk.batch import run_sharded
        from zkmargin.executor import make_executor

        with make_executor(kind, workers=workers, ray_address=ray_address) as executor:
            n_shards = shards if shards is not None else executor.workers
            t0 = time.perf_counter()
            res = run_sharded(engine, executor, n_shards, accounts=arrays,
                              synthetic=None if synthetic is None else (synthetic, positions, seed))
            secs = time.perf_counter() - t0
            shard_info = {"shards": n_shards, "executor": executor.kind, "workers": executor.workers}
        n_acc = res.mm.size
    else:
        if arrays is None:
            assert synthetic is not None
            arrays = synthetic_accounts(synthetic, len(listing), positions, seed)
        q = engine.accounts_matrix(*arrays)
        t0 = time.perf_counter()
        res = engine.run(q)
        secs = time.perf_counter() - t0
        shard_info = {}
        n_acc = q.shape[0]
    summary = {"accounts": n_acc, "instruments": engine.n_instruments, "scenarios": engine.scenarios.size,
               "seconds": secs, "accounts_per_second": n_acc / secs if secs > 0 else None,
               "im_total": float(res.im.sum()), "mm_total": float(res.mm.sum()),
               "im_mean": float(res.im.mean()), "im_max": float(res.im.max()), **shard_info}
    if out_file:
        _write_batch(out_file, res)
        summary["out"] = out_file
    if as_json:
        _emit_json(summary)
        return
    t = Table(title="batch risk-matrix margin")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    for k, v in summary.items():
        t.add_row(k, f"{v:,.4g}" if isinstance(v, float) else str(v))
    _console().print(t)


def _write_batch(path: str, res: Any) -> None:
    from offchain.validation import write_atomic

    p = Path(path)
    if p.suffix == ".npz":
        buf = io.BytesIO()
        np.savez(buf, im=res.im, mm=res.mm, scan_risk=res.scan_risk, worst_scenario=res.worst_scenario)
        tmp = p.with_name(f".{p.name}.tmp")
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(buf.getvalue())
        os.replace(tmp, p)
    elif p.suffix == ".csv":
        lines = ["account,im,mm,scan_risk,worst_scenario"]
        lines += [f"{i},{a!r},{b!r},{c!r},{int(d)}" for i, (a, b, c, d) in
                  enumerate(zip(res.im, res.mm, res.scan_risk, res.worst_scenario))]
        write_atomic(p, "\n".join(lines) + "\n")
    else:
        raise InputError("--out", "must end in .npz or .csv")


# --------------------------------------------------------------------------------- epoch
@click.command("epoch")
@click.option("--market", "market_file", required=True, type=click.Path(dir_okay=False))
@click.option("--listing", "listing_file", required=True, type=click.Path(dir_okay=False))
@click.option("--epoch-id", type=int, required=True)
@click.option("--oracle-round", type=int, default=0, show_default=True)
@click.option("--preset", default=None, help="risk_matrix preset (default deribit_pm)")
@click.option("--config", "config_file", type=click.Path(dir_okay=False))
@click.option("--linearize", is_flag=True, help="drop static discount / short option minimum")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def epoch_cmd(
    market_file: str, listing_file: str, epoch_id: int, oracle_round: int, preset: str | None,
    config_file: str | None, linearize: bool, out_file: str, as_json: bool,
) -> None:
    """Build the risk-epoch artefact (epoch.json) for a listing."""
    from pydantic import BaseModel

    from offchain.risk.epoch import build_epoch
    from offchain.risk.instruments import Instrument
    from offchain.risk.io import load_market
    from offchain.risk.margin import load_config
    from offchain.validation import load_json, parse_model

    class _Listing(BaseModel):
        instruments: list[Instrument]

    market = load_market(market_file)
    listing = parse_model(_Listing, load_json(listing_file, field="listing")).instruments
    cfg = load_config("risk_matrix", _config_arg(config_file, preset) or {})
    ep = build_epoch(market, listing, cfg, epoch_id=epoch_id, oracle_round=oracle_round, linearize=linearize)  # type: ignore[arg-type]
    ep.write(out_file)
    summary = {"out": out_file, "epoch_id": ep.epoch_id, "n": ep.n, "scenarios": ep.s,
               "im_factor_bps": ep.im_factor_bps, "digest": str(ep.digest)}
    if as_json:
        _emit_json(summary)
    else:
        t = Table(title="risk epoch")
        t.add_column("quantity")
        t.add_column("value")
        for k, v in summary.items():
            t.add_row(k, str(v))
        _console().print(t)


# ------------------------------------------------------------------------------- compare
@click.command("compare")
@click.option("--portfolio", "portfolio_file", required=True, type=click.Path(dir_okay=False))
@click.option("--market", "market_file", type=click.Path(dir_okay=False))
@click.option("--venues", help="'all' or comma-separated presets: every venue's IM and MM with the binding scenario")
@click.option("--span-file", type=click.Path(dir_okay=False), help="with --venues: also SPAN on this risk-parameter file")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="with --venues: folder for compare.json/.csv/.png (default out/compare/<portfolio>)")
@click.option("--history", "history_file", type=click.Path(dir_okay=False), help="enables the var and dynamic models")
@click.option("--json", "as_json", is_flag=True)
def compare_cmd(
    portfolio_file: str, market_file: str | None, venues: str | None, span_file: str | None, out_dir: str | None,
    history_file: str | None, as_json: bool,
) -> None:
    """IM and MM of one portfolio under every model, or (--venues) under every venue preset."""
    from offchain.risk.account import equity
    from offchain.risk.instruments import OPTION_CLASSES
    from offchain.risk.io import load_portfolio
    from offchain.risk.margin import get_model
    from offchain.risk.margin.base import UnsupportedInstrumentError
    from offchain.risk.margin.risk_matrix import PRESETS

    portfolio, pm = load_portfolio(portfolio_file)
    market = _market(pm, market_file)
    if venues is not None:
        _compare_venues(portfolio, market, Path(portfolio_file).stem, venues, span_file, out_dir, as_json)
        return
    if span_file or out_dir:
        raise InputError("--span-file" if span_file else "--out", "only with --venues")
    runs: list[tuple[str, str, Any]] = []
    has_options = any(isinstance(i, OPTION_CLASSES) for i, _ in portfolio.resolved())
    if not has_options:
        runs.append(("isolated", "isolated", None))
    runs += [("cross", "cross", None), ("standard_options", "standard_options", None)]
    runs += [(f"risk_matrix:{p}", "risk_matrix", {"preset": p}) for p in PRESETS]
    if history_file:
        runs += [("var", "var", {"history_file": history_file}), ("dynamic", "dynamic", {"history_file": history_file})]
    eq = equity(portfolio, market)
    rows: list[dict[str, Any]] = []
    for label, name, cfg in runs:
        model = get_model(name, cfg)
        try:
            res = model.requirement(portfolio, market)
        except UnsupportedInstrumentError as exc:  # a model written for dated instruments only
            rows.append({"model": label, "im": None, "mm": None, "free_collateral": None,
                         "note": f"{exc.field}: {exc.problem}"})
            continue
        rows.append({"model": label, "im": res.im, "mm": res.mm, "free_collateral": eq - res.im})
    if as_json:
        _emit_json(_clean({"equity": eq, "models": rows}))
        return
    t = Table(title=f"margin models compared: {Path(portfolio_file).name} (equity {eq:,.2f})")
    for c in ("model", "IM", "MM", "free collateral"):
        t.add_column(c, justify="left" if c == "model" else "right")
    for r in rows:
        if r["im"] is None:
            t.add_row(r["model"], "n/a", "n/a", "n/a")
        else:
            t.add_row(r["model"], f"{r['im']:,.2f}", f"{r['mm']:,.2f}", f"{r['free_collateral']:,.2f}")
    _console().print(t)
    for r in rows:
        if r["im"] is None:
            _console().print(f"{r['model']}: {r['note']}")


def _compare_venues(
    portfolio: Any, market: Any, name: str, venues: str, span_file: str | None, out_dir: str | None, as_json: bool
) -> None:
    from dataclasses import asdict

    from offchain.risk.compare import compare_venues, select_venues, to_json, write_outputs

    chosen = select_venues(venues)
    eq, rows = compare_venues(portfolio, market, chosen, span_file)
    files = write_outputs(out_dir or str(Path("out") / "compare" / name), name, eq, rows)
    if as_json:
        _emit_json(_clean({**to_json(name, eq, rows), "files": files}))
        return
    t = Table(title=f"venues compared: {name} (equity {eq:,.2f})")
    for c in ("venue", "preset", "model", "IM", "MM", "free collateral", "binding"):
        t.add_column(c, justify="right" if c in ("IM", "MM", "free collateral") else "left")
    for r in rows:
        d = asdict(r)
        if r.im is None:
            t.add_row(r.venue, r.preset, r.model, "n/a", "n/a", "n/a", r.note)
        else:
            t.add_row(r.venue, r.preset, r.model, f"{d['im']:,.2f}", f"{d['mm']:,.2f}", f"{d['free_collateral']:,.2f}",
                      r.binding)
    con = _console()
    con.print(t)
    con.print("wrote " + ", ".join(files))


commands = [margin_cmd, price_cmd, var_cmd, batch_cmd, epoch_cmd, compare_cmd]
