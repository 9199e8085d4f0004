"""What a role prints: the familiar text lines, or one JSON object per line (``--log-json``).

A JSON line has ``ts`` (UTC, ISO 8601 with milliseconds), ``level``, ``role``, ``event`` (a
stable snake_case name), ``msg`` (the text line) and the event's fields, e.g.::

    {"ts": "2021-05-19T12:00:00.123Z", "level": "info", "role": "keeper", "event": "action",
     "msg": "start  0xAb.. block 42 gas 451234 tx 0x..", "kind": "start", "account": "0xAb..", ...}

Built on the standard library's :mod:`logging` (a :class:`JsonFormatter`), so other handlers
(files, syslog) can be added the usual way; the logger of role ``r`` is ``zkmargin.r``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import IO, Any

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def _jsonable(x: Any) -> Any:
    if isinstance(x, (str, int, float, bool)) or x is None:
        return x
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set)):
        return [_jsonable(v) for v in x]
    return str(x)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, role, event, msg and the record's extra fields."""

    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role

    def format(self, record: logging.LogRecord) -> str:
        ts = dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        out: dict[str, Any] = {"ts": ts, "level": record.levelname.lower(), "role": self.role,
                               "event": getattr(record, "event", "message"), "msg": record.getMessage()}
        for k, v in record.__dict__.items():
            if k not in _RESERVED and k not in out:
                out[k] = _jsonable(v)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, sort_keys=False, allow_nan=False, default=str)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return record.getMessage()


class RoleLog:
    """The output of one role: ``log.event("epoch_posted", "epoch 3 posted ...", epoch=3)``.

    Text mode writes ``msg`` alone (info to ``stream``, warnings and errors to ``err_stream``);
    JSON mode writes every record as JSON to ``stream``."""

    def __init__(self, role: str, json_mode: bool = False, stream: IO[str] | None = None,
                 err_stream: IO[str] | None = None) -> None:
        self.role = role
        self.json_mode = json_mode
        self.logger = logging.getLogger(f"zkmargin.{role}")
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False
        for h in list(self.logger.handlers):
            self.logger.removeHandler(h)
        out = stream or sys.stdout
        if json_mode:
            handler: logging.Handler = logging.StreamHandler(out)
            handler.setFormatter(JsonFormatter(role))
            self.logger.addHandler(handler)
        else:
            info = logging.StreamHandler(out)
            info.setFormatter(_TextFormatter())
            info.addFilter(lambda r: r.levelno < logging.WARNING)
            err = logging.StreamHandler(err_stream or sys.stderr)
            err.setFormatter(_TextFormatter())
            err.setLevel(logging.WARNING)
            self.logger.addHandler(info)
            self.logger.addHandler(err)

    def event(self, event: str, msg: str, level: int = logging.INFO, **fields: Any) -> None:
        bad = sorted(set(fields) & _RESERVED)
        if bad:
            raise ValueError(f"log field names {bad} are reserved by logging")
        self.logger.log(level, msg, extra={"event": event, **fields})

    def warn_event(self, event: str, msg: str, **fields: Any) -> None:
        self.event(event, msg, logging.WARNING, **fields)

    def error_event(self, event: str, msg: str, **fields: Any) -> None:
        self.event(event, msg, logging.ERROR, **fields)
