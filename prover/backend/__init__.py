"""Groth16 prover backends: which one runs, and the per-process cache of parsed keys.

Backends (all read and write snarkjs-compatible files; see :mod:`prover.backend.base`):

* ``native`` (default when importable): mcl MSMs and pairings (``mclbn256``, MIT/BSD-3) and
  python-flint polynomial products (MIT bindings, LGPL FLINT/GMP); installed with zkmargin;
* ``python``: the readable pure-Python reference (:mod:`prover.groth16`), always available;
* ``groth16py``: arkworks through the ``groth16py`` package, **GPL-3.0**, never chosen
  automatically; only with ``pip install 'zkmargin[gpl-prover]'`` and an explicit choice.

Choose with :func:`set_backend` (one setting per process), the environment variable
``ZKMARGIN_PROVER_BACKEND``, or ``--backend`` on the CLI; ``auto`` (the default) takes
``native`` when it can run here and ``python`` otherwise.

:func:`load_key` parses a ``.zkey`` once per process and backend: keys are cached by the
sha256 of the file (a file whose size, mtime or inode changed is hashed again), so a replaced
key is never served stale and the same key under two paths is parsed once.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path

from prover.backend.base import Backend, LoadedKey, Progress
from prover.errors import ArtefactError, BackendUnavailable, ProverInputError

__all__ = [
    "AUTO",
    "ENV",
    "NAMES",
    "Backend",
    "LoadedKey",
    "Progress",
    "available_backends",
    "backend_name",
    "clear_key_cache",
    "file_sha256",
    "get_backend",
    "load_key",
    "set_backend",
]

#: the environment variable that picks the backend (``auto`` or one of :data:`NAMES`)
ENV = "ZKMARGIN_PROVER_BACKEND"
AUTO = "auto"
#: every backend, in the order ``auto`` prefers them (``groth16py`` is never automatic)
NAMES = ("native", "python", "groth16py")
_AUTOMATIC = ("native", "python")
#: parsed keys kept per process (each up to a few hundred MB for large circuits)
CACHE_SIZE = 4

_selected: str | None = None
_instances: dict[str, Backend] = {}
_lock = threading.Lock()


def _check_name(name: str, field: str) -> str:
    if name != AUTO and name not in NAMES:
        raise ProverInputError(field, f"unknown prover backend {name!r}; expected one of {[AUTO, *NAMES]}")
    return name


def set_backend(name: str | None) -> None:
    """Use backend ``name`` for every proof of this process (``None`` or ``"auto"``: automatic).
    Raises :class:`BackendUnavailable` at once if the backend cannot run here."""
    global _selected
    if name is None or _check_name(name, "backend") == AUTO:
        _selected = None
        return
    get_backend(name)
    _selected = name


def backend_name(name: str | None = None) -> str:
    """The backend that runs for ``name`` (an explicit choice), else :func:`set_backend`'s, else
    ``$ZKMARGIN_PROVER_BACKEND``'s, else the automatic one."""
    choice = name or _selected
    if choice is None:
        env = os.environ.get(ENV, "").strip()
        choice = _check_name(env, ENV) if env else AUTO
    else:
        _check_name(choice, "backend")
    if choice != AUTO:
        return choice
    for candidate in _AUTOMATIC:
        if available_backends()[candidate] is None:
            return candidate
    return "python"


def get_backend(name: str | None = None) -> Backend:
    """The backend instance for ``name`` (see :func:`backend_name`)."""
    resolved = backend_name(name)
    with _lock:
        if resolved not in _instances:
            _instances[resolved] = _create(resolved)
        return _instances[resolved]


def _create(name: str) -> Backend:
    if name == "python":
        from prover.backend.python import PythonBackend

        return PythonBackend()
    if name == "native":
        from prover.backend.native import NativeBackend

        return NativeBackend()
    from prover.backend.groth16py import Groth16pyBackend

    return Groth16pyBackend()


_availability: dict[str, str | None] = {}


def available_backends() -> dict[str, str | None]:
    """``{name: None}`` for each backend that can run here, ``{name: reason}`` for the others."""
    for name in NAMES:
        if name not in _availability:
            try:
                with _lock:
                    if name not in _instances:
                        _instances[name] = _create(name)
                _availability[name] = None
            except BackendUnavailable as exc:
                _availability[name] = exc.problem
    return dict(_availability)


# ------------------------------------------------------------------ key cache ----------
_hashes: dict[tuple[str, int, int, int], str] = {}
_keys: OrderedDict[tuple[str, str], LoadedKey] = OrderedDict()


def file_sha256(path: str | Path) -> str:
    """The sha256 of ``path`` (memoized while its size, mtime and inode stay the same)."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ArtefactError(str(p), "zkey file not found") from None
    if not p.is_file():
        raise ArtefactError(str(p), "zkey path is not a file")
    sig = (str(p.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    digest = _hashes.get(sig)
    if digest is None:
        h = hashlib.sha256()
        with p.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        digest = _hashes[sig] = h.hexdigest()
    return digest


def load_key(path: str | Path, backend: str | None = None) -> LoadedKey:
    """The ``.zkey`` at ``path`` parsed by ``backend`` (see :func:`backend_name`), from the cache
    when a file with the same sha256 was parsed before in this process."""
    impl = get_backend(backend)
    digest = file_sha256(path)
    ck = (impl.name, digest)
    with _lock:
        hit = _keys.get(ck)
        if hit is not None:
            _keys.move_to_end(ck)
            return hit
    key = impl.load(Path(path), digest)
    with _lock:
        _keys[ck] = key
        while len(_keys) > CACHE_SIZE:
            _keys.popitem(last=False)
    return key


def clear_key_cache() -> None:
    """Forget every parsed key (and the memoized file hashes)."""
    with _lock:
        _keys.clear()
        _hashes.clear()
