"""A small ctypes layer over mcl (the C library inside the ``mclbn256`` wheel) on Ethereum's BN254.

``mclbn256`` (MIT wrapper; mcl is BSD-3-Clause) loads ``libmclbn256`` and initialises it on
mcl's *own* BN254 (``CurveFp254BNb``), whose field and group order differ from Ethereum's
alt_bn128. :func:`lib` switches the library to ``MCL_BN_SNARK1`` (alt_bn128, the curve of the
EVM precompiles and snarkjs) and checks both moduli. The switch is process-global: after it,
the wrapper's own Python classes (``mclbn256.G1`` ...) are wrong for this curve (their base
points and pairing buffers are the other curve's), so this module calls the C API directly
with its own arrays.

Memory layout (64-bit limbs, little-endian, Montgomery form with ``R = 2^256``): ``Fr`` 4 limbs,
``G1`` Jacobian ``(x, y, z)`` 12 limbs, ``G2`` ``(x.c0, x.c1, y.c0, y.c1, z.c0, z.c1)`` 24 limbs;
the zero point has ``z = 0``. A snarkjs ``.zkey`` stores affine points in exactly this form
(``x * 2^256 mod q``, G2 as ``x0, x1, y0, y1``; infinity as zeros), so a key section becomes an
mcl array by appending ``z = 1`` (in Montgomery form) to each point: a copy, no parsing. This
layout is mcl's internal one: :func:`lib` checks it on known points at start-up and refuses to
run (:class:`~prover.errors.BackendUnavailable`) if a build ever differs.

The multi-scalar multiplications (``mclBnG1_mulVec``/``mclBnG2_mulVec``) and the pairing run in
C; ctypes releases the GIL during each call, so several MSMs can run in Python threads at once.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Sequence
from typing import Any

from prover.curve import G1_GEN, G2_GEN, G1Affine, G2Affine
from prover.errors import BackendUnavailable
from prover.field import Q, R

MCL_BN_SNARK1 = 4  # mcl's id of alt_bn128 (Ethereum's BN254)
MONT_Q = (1 << 256) % Q
MONT_Q_INV = pow(MONT_Q, -1, Q)
MONT_R = (1 << 256) % R
FrT = ctypes.c_uint64 * 4
G1T = ctypes.c_uint64 * 12
G2T = ctypes.c_uint64 * 24
GTT = ctypes.c_uint64 * 48
_ONE = MONT_Q.to_bytes(32, "little")  # 1 in Montgomery form: the z of an affine point
_ZERO_G1 = bytes(96)
_ZERO_G2 = bytes(192)
_ZERO_XY = bytes(64)
_ZERO_XY2 = bytes(128)

_LIB: Any = None
_LOCK = threading.Lock()


def lib() -> Any:
    """libmclbn256 switched to alt_bn128 and checked (raises :class:`BackendUnavailable`)."""
    global _LIB
    if _LIB is None:
        with _LOCK:
            if _LIB is None:
                _LIB = _init()
    return _LIB


def _init() -> Any:
    try:
        from mclbn256 import mclbn256 as wrapper
    except ImportError as exc:
        raise BackendUnavailable("native", f"the mclbn256 package is not installed ({exc}): pip install mclbn256") from None
    except OSError as exc:  # it writes its .so to a temporary folder and loads it from there
        raise BackendUnavailable("native", f"mclbn256 could not load its library ({exc}); is TMPDIR writable and not noexec?") from None
    handle = wrapper.lib
    if handle.mclBn_init(MCL_BN_SNARK1, wrapper.MCLBN_COMPILED_TIME_VAR) != 0:
        raise BackendUnavailable("native", "mclBn_init(MCL_BN_SNARK1) failed: this mcl build lacks alt_bn128")
    buf = ctypes.create_string_buffer(128)
    for getter, want, what in ((handle.mclBn_getFieldOrder, Q, "field"), (handle.mclBn_getCurveOrder, R, "group")):
        n = getter(buf, ctypes.c_size_t(len(buf)))
        if n <= 0 or int(buf.raw[:n]) != want:
            raise BackendUnavailable("native", f"mcl's {what} order is not alt_bn128's after the switch")
    handle.mclBn_verifyOrderG2(1)  # points set from outside are checked for the order-r subgroup
    _check_layout(handle)
    return handle


def _check_layout(handle: Any) -> None:
    """The memory layout this module writes and reads, checked against mcl's own parser."""
    problems = []
    g1 = G1T()
    s = b"1 %d %d" % G1_GEN
    if handle.mclBnG1_setStr(ctypes.byref(g1), s, ctypes.c_size_t(len(s)), 10) != 0:
        problems.append("the G1 generator does not parse")
    elif not handle.mclBnG1_isEqual(ctypes.byref(g1), ctypes.byref(g1_from_affine(G1_GEN))):
        problems.append("G1 layout")
    (x0, x1), (y0, y1) = G2_GEN
    g2 = G2T()
    s2 = b"1 %d %d %d %d" % (x0, x1, y0, y1)
    if handle.mclBnG2_setStr(ctypes.byref(g2), s2, ctypes.c_size_t(len(s2)), 10) != 0:
        problems.append("the G2 generator does not parse")
    elif not handle.mclBnG2_isEqual(ctypes.byref(g2), ctypes.byref(g2_from_affine(G2_GEN))):
        problems.append("G2 layout")
    k = 0x1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF % R
    fr = FrT()
    if handle.mclBnFr_setLittleEndian(ctypes.byref(fr), k.to_bytes(32, "little"), ctypes.c_size_t(32)) != 0:
        problems.append("Fr does not parse")
    elif not handle.mclBnFr_isEqual(ctypes.byref(fr), ctypes.byref(fr_array([k]))):
        problems.append("Fr layout")
    if not problems:
        p = G1T()
        handle.mclBnG1_mul(ctypes.byref(p), ctypes.byref(g1), ctypes.byref(fr))
        out = ctypes.create_string_buffer(256)
        n = handle.mclBnG1_getStr(out, ctypes.c_size_t(256), ctypes.byref(p), 10)
        parts = out.raw[:n].split()
        if _g1_affine_with(handle, p) != (int(parts[1]), int(parts[2])):
            problems.append("normalized G1 read-back")
    if problems:
        raise BackendUnavailable("native", f"mcl's memory layout is not the one this backend expects ({', '.join(problems)})")


# ------------------------------------------------------------------ conversions --------
def fr_array(scalars: Sequence[int]) -> Any:
    """Scalars (any ints; reduced mod r) as an mcl ``Fr`` array."""
    blob = b"".join((x * MONT_R % R).to_bytes(32, "little") for x in scalars)
    return (FrT * len(scalars)).from_buffer_copy(blob)


def g1_array_from_zkey(raw: bytes, count: int) -> Any:
    """A ``.zkey`` G1 section (``count`` affine points, 64 bytes each) as an mcl G1 array."""
    parts = []
    for i in range(count):
        xy = raw[64 * i : 64 * i + 64]
        parts.append(_ZERO_G1 if xy == _ZERO_XY else xy + _ONE)
    return (G1T * count).from_buffer_copy(b"".join(parts))


def g2_array_from_zkey(raw: bytes, count: int) -> Any:
    """A ``.zkey`` G2 section (``count`` affine points, 128 bytes each) as an mcl G2 array."""
    parts = []
    zero_c1 = bytes(32)
    for i in range(count):
        xy = raw[128 * i : 128 * i + 128]
        parts.append(_ZERO_G2 if xy == _ZERO_XY2 else xy + _ONE + zero_c1)
    return (G2T * count).from_buffer_copy(b"".join(parts))


def _mont(v: int) -> bytes:
    return (v * MONT_Q % Q).to_bytes(32, "little")


def g1_from_affine(p: G1Affine) -> Any:
    if p is None:
        return G1T()
    return G1T.from_buffer_copy(_mont(p[0]) + _mont(p[1]) + _ONE)


def g2_from_affine(p: G2Affine) -> Any:
    if p is None:
        return G2T()
    (x0, x1), (y0, y1) = p
    return G2T.from_buffer_copy(_mont(x0) + _mont(x1) + _mont(y0) + _mont(y1) + _ONE + bytes(32))


def _limbs(raw: bytes, k: int) -> int:
    return int.from_bytes(raw[32 * k : 32 * k + 32], "little") * MONT_Q_INV % Q


def _g1_affine_with(handle: Any, p: Any) -> G1Affine:
    if handle.mclBnG1_isZero(ctypes.byref(p)):
        return None
    a = G1T()
    handle.mclBnG1_normalize(ctypes.byref(a), ctypes.byref(p))
    raw = bytes(a)
    return _limbs(raw, 0), _limbs(raw, 1)


def g1_to_affine(p: Any) -> G1Affine:
    return _g1_affine_with(lib(), p)


def g2_to_affine(p: Any) -> G2Affine:
    handle = lib()
    if handle.mclBnG2_isZero(ctypes.byref(p)):
        return None
    a = G2T()
    handle.mclBnG2_normalize(ctypes.byref(a), ctypes.byref(p))
    raw = bytes(a)
    return (_limbs(raw, 0), _limbs(raw, 1)), (_limbs(raw, 2), _limbs(raw, 3))


# ------------------------------------------------------------------ group operations ---
def msm_g1(points: Any, scalars: Any, n: int, point_offset: int = 0, scalar_offset: int = 0) -> Any:
    """``sum_i scalars[scalar_offset + i] * points[point_offset + i]`` for ``i < n``."""
    out = G1T()
    if n > 0:
        lib().mclBnG1_mulVec(ctypes.byref(out), ctypes.byref(points, 96 * point_offset),
                             ctypes.byref(scalars, 32 * scalar_offset), ctypes.c_size_t(n))
    return out


def msm_g2(points: Any, scalars: Any, n: int, point_offset: int = 0, scalar_offset: int = 0) -> Any:
    out = G2T()
    if n > 0:
        lib().mclBnG2_mulVec(ctypes.byref(out), ctypes.byref(points, 192 * point_offset),
                             ctypes.byref(scalars, 32 * scalar_offset), ctypes.c_size_t(n))
    return out


def g1_mul(p: Any, k: int) -> Any:
    out = G1T()
    lib().mclBnG1_mul(ctypes.byref(out), ctypes.byref(p), ctypes.byref(fr_array([k])))
    return out


def g2_mul(p: Any, k: int) -> Any:
    out = G2T()
    lib().mclBnG2_mul(ctypes.byref(out), ctypes.byref(p), ctypes.byref(fr_array([k])))
    return out


def g1_sum(*points: Any) -> Any:
    handle = lib()
    acc = G1T()
    for p in points:
        handle.mclBnG1_add(ctypes.byref(acc), ctypes.byref(acc), ctypes.byref(p))
    return acc


def g2_sum(*points: Any) -> Any:
    handle = lib()
    acc = G2T()
    for p in points:
        handle.mclBnG2_add(ctypes.byref(acc), ctypes.byref(acc), ctypes.byref(p))
    return acc


def g1_neg(p: Any) -> Any:
    out = G1T()
    lib().mclBnG1_neg(ctypes.byref(out), ctypes.byref(p))
    return out


def g1_batch_mul(base: G1Affine, scalars: Sequence[int]) -> list[G1Affine]:
    """``[k * base for k in scalars]`` as affine points (fixed-base products of the setup)."""
    handle = lib()
    b = g1_from_affine(base)
    ks = fr_array(scalars)
    out: list[G1Affine] = []
    p, a = G1T(), G1T()
    for i in range(len(scalars)):
        handle.mclBnG1_mul(ctypes.byref(p), ctypes.byref(b), ctypes.byref(ks, 32 * i))
        if handle.mclBnG1_isZero(ctypes.byref(p)):
            out.append(None)
            continue
        handle.mclBnG1_normalize(ctypes.byref(a), ctypes.byref(p))
        raw = bytes(a)
        out.append((_limbs(raw, 0), _limbs(raw, 1)))
    return out


def g2_batch_mul(base: G2Affine, scalars: Sequence[int]) -> list[G2Affine]:
    handle = lib()
    b = g2_from_affine(base)
    ks = fr_array(scalars)
    out: list[G2Affine] = []
    p, a = G2T(), G2T()
    for i in range(len(scalars)):
        handle.mclBnG2_mul(ctypes.byref(p), ctypes.byref(b), ctypes.byref(ks, 32 * i))
        if handle.mclBnG2_isZero(ctypes.byref(p)):
            out.append(None)
            continue
        handle.mclBnG2_normalize(ctypes.byref(a), ctypes.byref(p))
        raw = bytes(a)
        out.append(((_limbs(raw, 0), _limbs(raw, 1)), (_limbs(raw, 2), _limbs(raw, 3))))
    return out


def g1_is_valid(p: Any) -> bool:
    return bool(lib().mclBnG1_isValid(ctypes.byref(p)))


def g2_is_valid(p: Any) -> bool:
    """On the twist and (``mclBn_verifyOrderG2`` is on) in the order-r subgroup."""
    return bool(lib().mclBnG2_isValid(ctypes.byref(p)))


def pairing_product_is_one(g1s: Sequence[Any], g2s: Sequence[Any]) -> bool:
    """``prod_i e(g1s[i], g2s[i]) == 1`` (one multi-Miller loop and one final exponentiation)."""
    handle = lib()
    n = len(g1s)
    ps = (G1T * n)(*g1s)
    qs = (G2T * n)(*g2s)
    f = GTT()
    handle.mclBn_millerLoopVec(ctypes.byref(f), ps, qs, ctypes.c_size_t(n))
    handle.mclBn_finalExp(ctypes.byref(f), ctypes.byref(f))
    return bool(handle.mclBnGT_isOne(ctypes.byref(f)))
