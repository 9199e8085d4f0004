"""Turning pydantic validation errors and JSON files into :class:`~zkmargin.errors.InputError`.

Every loader of user input goes through :func:`parse_model` so that a bad field is reported
as ``<dotted.path>: <problem>`` (for example ``positions[2].size: must be finite``).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import types
import typing
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
            out += f".{part}" if out and not out.endswith(":") else str(part)
    return out or "input"


def _strip(tp: Any) -> Any:
    """``Annotated[X, ...]`` -> ``X``; ``X | None`` -> ``X``."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _union_member(tp: Any, tag: str) -> Any:
    """The member of a (discriminated) union that pydantic names ``tag`` in an error location."""
    for member in typing.get_args(tp):
        m = _strip(member)
        if isinstance(m, type) and issubclass(m, BaseModel):
            if m.__name__ == tag:
                return m
            for f in m.model_fields.values():
                if typing.get_origin(f.annotation) is typing.Literal and tag in typing.get_args(f.annotation):
                    return m
    return None


def _fields_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str] | None:
    """The keys the object at ``loc`` inside ``model`` may have (None when it cannot tell)."""
    tp: Any = model
    for part in loc:
        tp = _strip(tp)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if not isinstance(part, str) or part not in tp.model_fields:
                return None
            tp = tp.model_fields[part].annotation
        elif origin in (list, tuple, set, frozenset) and isinstance(part, int):
            tp = typing.get_args(tp)[0]
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        elif origin in (typing.Union, types.UnionType) and isinstance(part, str):
            tp = _union_member(tp, part)
            if tp is None:
                return None
        elif isinstance(part, str) and part.startswith(("function-", "tagged-union")):
            continue
        else:
            return None
    tp = _strip(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return None
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or name for name, f in tp.model_fields.items()]
    return None


def first_error(exc: ValidationError, model: type[BaseModel] | None = None) -> tuple[tuple[int | str, ...], str]:
    """The error to report from a pydantic ``ValidationError``: ``(location, problem)``.

    An unknown key is reported first and named (``unknown key 'sise' (allowed keys: ...)``):
    a typo otherwise shows up as a confusing "Field required" for the key it was meant to be.
    """
    errors = exc.errors()
    extra = [e for e in errors if e.get("type") == "extra_forbidden"]
    err = extra[0] if extra else errors[0]
    loc = tuple(err.get("loc", ()))
    if extra:
        key = loc[-1] if loc else "?"
        allowed = _fields_at(model, loc[:-1]) if model is not None else None
        hint = f" (allowed keys: {', '.join(allowed)})" if allowed else ""
        return loc, f"unknown key {key!r}{hint}"
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    return loc, msg


def parse_model(cls: type[M], data: Any, prefix: str = "") -> M:
    """Validate ``data`` into ``cls``; raise InputError naming the first bad field (an unknown
    key first, by name)."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, InputError) and not any(e.get("type") == "extra_forbidden" for e in exc.errors()):
            field = f"{prefix}.{inner.field}" if prefix and not prefix.endswith(":") else f"{prefix}{inner.field}"
            raise InputError(field, inner.problem) from None
        loc, msg = first_error(exc, cls)
        raise InputError(_loc_to_field(prefix, loc), msg) from None


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
