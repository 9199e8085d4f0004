"""Turning pydantic validation errors and JSON files into :class:`~zkmargin.errors.InputError`.

Every loader of user input goes through :func:`parse_model` so that a bad field is reported
as ``<dotted.path>: <problem>`` (for example ``positions[2].size: must be finite``).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from zkmargin.errors import InputError

M = TypeVar("M", bound=BaseModel)


def _loc_to_field(prefix: str, loc: tuple[int | str, ...]) -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            # discriminated unions add the tag ("option") as a path element; skip it
            if part in ("perp", "future", "option", "everlasting", "function-after", "function-before"):
                continue
            out += f".{part}" if out else str(part)
    return out or "input"


def parse_model(cls: type[M], data: Any, prefix: str = "") -> M:
    """Validate ``data`` into ``cls``; raise InputError naming the first bad field."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, InputError):
            field = f"{prefix}.{inner.field}" if prefix else inner.field
            raise InputError(field, inner.problem) from None
        msg = str(err.get("msg", "invalid"))
        msg = msg.removeprefix("Value error, ")
        raise InputError(_loc_to_field(prefix, tuple(err.get("loc", ()))), msg) from None


def load_json(path: str | os.PathLike[str], field: str = "file") -> Any:
    """Read a JSON file; a missing file or bad JSON is an InputError naming ``field``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(field, f"file not found: {p}") from None
    except OSError as exc:
        raise InputError(field, f"cannot read {p}: {exc.strerror}") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InputError(field, f"invalid JSON in {p}: {exc.msg} (line {exc.lineno})") from None


def _reject_constant(name: str) -> Any:
    # JSON has no NaN/Infinity; Python's json accepts them by default. Keep them as floats so
    # that the model validators reject them with the field's name.
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically (temp file in the same folder + ``os.replace``)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=str(p.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def finite(value: float, what: str = "value") -> float:
    """Pydantic helper: reject NaN and infinities."""
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite (got {value})")
    return value
