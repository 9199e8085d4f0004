"""iden3 binary formats (``.r1cs``, ``.wtns``, ``.zkey``) and snarkjs JSON artefacts.

All three binary files share the iden3 container (``@iden3/binfileutils``): a 4-byte magic,
``u32`` version, ``u32`` number of sections, then per section ``u32`` type, ``u64`` size and
the bytes.  Integers are little-endian; field elements take 32 bytes.

* ``.r1cs`` v1 (https://github.com/iden3/r1csfile/blob/master/doc/r1cs_bin_format.md):
  1 header (``n8, prime, nWires, nPubOut, nPubIn, nPrvIn, nLabels(u64), nConstraints``),
  2 constraints (per constraint, for A, B, C: ``u32 nTerms`` then ``(u32 wire, coef)``),
  3 wire-to-label map (``u64`` per wire).
* ``.wtns`` v2: 1 header (``n8, prime, nWitness``), 2 the values (standard form).
* ``.zkey`` v1 for Groth16 (snarkjs ``zkey_new.js``/``zkey_utils.js``): 1 protocol (1),
  2 header (``n8q, q, n8r, r, nVars, nPublic, domainSize``, then alpha1, beta1, beta2,
  gamma2, delta1, delta2), 3 IC, 4 coefficients (``u32 n``; per entry ``u32 matrix (0=A,
  1=B), u32 constraint, u32 signal`` and the coefficient times ``2^512 mod r``), 5 A, 6 B1,
  7 B2, 8 C, 9 H, 10 contributions.  Points are affine in Montgomery form
  (``x * 2^256 mod q``), G2 as ``x0, x1, y0, y1``; infinity is all zero bytes.

Every writer is atomic (temp file + ``os.replace``); every reader raises
:class:`prover.errors.ArtefactError` naming the file for a missing, truncated or corrupt file.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prover.curve import G1Affine, G2Affine, g1_is_on_curve, g2_is_on_curve
from prover.errors import ArtefactError
from prover.field import Q, R
from prover.keys import Proof, VerifyingKey, parse_public

N8 = 32
MONT = (1 << 256) % Q
MONT_INV = pow(MONT, -1, Q)
R2_R = (1 << 512) % R  # zkey coefficient scaling
R2_R_INV = pow(R2_R, -1, R)


# ------------------------------------------------------------------ atomic writes ------
def write_atomic(path: str | Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and ``os.replace``."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: str | Path, obj: Any) -> None:
    write_atomic(path, json.dumps(obj, indent=1) + "\n")


def read_json(path: str | Path, what: str) -> Any:
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtefactError(str(p), f"{what} file not found") from None
    except IsADirectoryError:
        raise ArtefactError(str(p), f"{what} path is a directory") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtefactError(str(p), f"{what} file is not valid JSON ({exc})") from None


# ------------------------------------------------------------------ container ----------
def _container(magic: bytes, version: int, sections: Sequence[tuple[int, bytes]]) -> bytes:
    out = [magic, struct.pack("<II", version, len(sections))]
    for kind, data in sections:
        out.append(struct.pack("<IQ", kind, len(data)))
        out.append(data)
    return b"".join(out)


def _read_container(path: str | Path, magic: bytes, what: str) -> dict[int, bytes]:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ArtefactError(str(p), f"{what} file not found") from None
    except IsADirectoryError:
        raise ArtefactError(str(p), f"{what} path is a directory") from None
    if len(raw) < 12 or raw[:4] != magic:
        raise ArtefactError(str(p), f"not a {what} file (bad magic {raw[:4]!r}, expected {magic!r})")
    _version, n_sections = struct.unpack_from("<II", raw, 4)
    pos = 12
    sections: dict[int, bytes] = {}
    for _ in range(n_sections):
        if pos + 12 > len(raw):
            raise ArtefactError(str(p), f"truncated {what} file (section header past the end)")
        kind, size = struct.unpack_from("<IQ", raw, pos)
        pos += 12
        if pos + size > len(raw):
            raise ArtefactError(str(p), f"truncated {what} file (section {kind} needs {size} bytes)")
        sections[kind] = raw[pos : pos + size]
        pos += size
    return sections


def _fe(x: int) -> bytes:
    return x.to_bytes(N8, "little")


def _read_fe(buf: bytes, off: int) -> int:
    return int.from_bytes(buf[off : off + N8], "little")


# ------------------------------------------------------------------ r1cs ---------------
def write_r1cs(
    path: str | Path,
    n_vars: int,
    n_public: int,
    constraints: Sequence[tuple[Sequence[tuple[int, int]], Sequence[tuple[int, int]], Sequence[tuple[int, int]]]],
    n_private_inputs: int = 0,
) -> None:
    """Write an ``.r1cs`` file (public inputs are ``nPubIn``; no outputs)."""
    header = struct.pack("<I", N8) + _fe(R) + struct.pack("<IIIIQI", n_vars, 0, n_public, n_private_inputs, n_vars, len(constraints))
    parts = []
    for lcs in constraints:
        for lc in lcs:
            parts.append(struct.pack("<I", len(lc)))
            for wire, coef in lc:
                parts.append(struct.pack("<I", wire))
                parts.append(_fe(coef % R))
    labels = b"".join(struct.pack("<Q", i) for i in range(n_vars))
    write_atomic(path, _container(b"r1cs", 1, [(1, header), (2, b"".join(parts)), (3, labels)]))


def read_r1cs(path: str | Path) -> dict[str, Any]:
    """Read an ``.r1cs``; returns ``n_vars``, ``n_public`` (outputs + public inputs),
    ``n_constraints`` and ``constraints`` as ``[(A, B, C)]`` lists of ``(wire, coef)``."""
    sec = _read_container(path, b"r1cs", "r1cs")
    if 1 not in sec or 2 not in sec:
        raise ArtefactError(str(path), "r1cs file lacks its header or constraint section")
    h = sec[1]
    try:
        n8 = struct.unpack_from("<I", h, 0)[0]
        prime = int.from_bytes(h[4 : 4 + n8], "little")
        n_wires, n_out, n_pub, n_prv, _n_labels, n_cons = struct.unpack_from("<IIIIQI", h, 4 + n8)
    except struct.error:
        raise ArtefactError(str(path), "truncated r1cs header") from None
    if prime != R:
        raise ArtefactError(str(path), "r1cs prime is not the BN254 scalar field")
    data = sec[2]
    pos = 0
    cons = []
    try:
        for _ in range(n_cons):
            lcs = []
            for _ in range(3):
                (nt,) = struct.unpack_from("<I", data, pos)
                pos += 4
                lc = []
                for _ in range(nt):
                    (wire,) = struct.unpack_from("<I", data, pos)
                    coef = int.from_bytes(data[pos + 4 : pos + 4 + n8], "little")
                    pos += 4 + n8
                    if wire >= n_wires:
                        raise ArtefactError(str(path), f"constraint refers to wire {wire} >= nWires {n_wires}")
                    lc.append((wire, coef))
                lcs.append(lc)
            cons.append(tuple(lcs))
    except struct.error:
        raise ArtefactError(str(path), "truncated r1cs constraint section") from None
    return {"n_vars": n_wires, "n_public": n_out + n_pub, "n_private_inputs": n_prv, "n_constraints": n_cons, "constraints": cons}


# ------------------------------------------------------------------ wtns ---------------
def write_wtns(path: str | Path, w: Sequence[int]) -> None:
    header = struct.pack("<I", N8) + _fe(R) + struct.pack("<I", len(w))
    body = b"".join(_fe(x % R) for x in w)
    write_atomic(path, _container(b"wtns", 2, [(1, header), (2, body)]))


def read_wtns(path: str | Path) -> list[int]:
    sec = _read_container(path, b"wtns", "witness")
    if 1 not in sec or 2 not in sec:
        raise ArtefactError(str(path), "witness file lacks its header or values section")
    h = sec[1]
    if len(h) < 4 + N8 + 4:
        raise ArtefactError(str(path), "truncated witness header")
    n8 = struct.unpack_from("<I", h, 0)[0]
    if n8 != N8 or int.from_bytes(h[4 : 4 + n8], "little") != R:
        raise ArtefactError(str(path), "witness is not over the BN254 scalar field")
    (n,) = struct.unpack_from("<I", h, 4 + n8)
    body = sec[2]
    if len(body) != n * N8:
        raise ArtefactError(str(path), f"witness section has {len(body)} bytes, expected {n} values")
    out = [_read_fe(body, i * N8) for i in range(n)]
    for i, v in enumerate(out):
        if v >= R:
            raise ArtefactError(str(path), f"witness value {i} is not < r")
    if n == 0 or out[0] != 1:
        raise ArtefactError(str(path), "witness[0] must be 1")
    return out


# ------------------------------------------------------------------ zkey ---------------
def _g1_lem(p: G1Affine) -> bytes:
    if p is None:
        return bytes(2 * N8)
    return _fe(p[0] * MONT % Q) + _fe(p[1] * MONT % Q)


def _g2_lem(p: G2Affine) -> bytes:
    if p is None:
        return bytes(4 * N8)
    (x0, x1), (y0, y1) = p
    return b"".join(_fe(v * MONT % Q) for v in (x0, x1, y0, y1))


def _read_g1s(buf: bytes, count: int, where: str, check: bool) -> list[G1Affine]:
    if len(buf) < count * 2 * N8:
        raise ArtefactError(where, "truncated G1 section")
    out: list[G1Affine] = []
    for i in range(count):
        x = _read_fe(buf, 2 * N8 * i)
        y = _read_fe(buf, 2 * N8 * i + N8)
        if x == 0 and y == 0:
            out.append(None)
            continue
        p = (x * MONT_INV % Q, y * MONT_INV % Q)
        if check and not g1_is_on_curve(p):
            raise ArtefactError(where, f"G1 point {i} is not on the curve")
        out.append(p)
    return out


def _read_g2s(buf: bytes, count: int, where: str, check: bool) -> list[G2Affine]:
    if len(buf) < count * 4 * N8:
        raise ArtefactError(where, "truncated G2 section")
    out: list[G2Affine] = []
    for i in range(count):
        v = [_read_fe(buf, 4 * N8 * i + N8 * k) for k in range(4)]
        if not any(v):
            out.append(None)
            continue
        x0, x1, y0, y1 = (c * MONT_INV % Q for c in v)
        p = ((x0, x1), (y0, y1))
        if check and not g2_is_on_curve(p):
            raise ArtefactError(where, f"G2 point {i} is not on the curve")
        out.append(p)
    return out


def write_zkey(path: str | Path, pk: Any, cs_hash: bytes = bytes(64)) -> None:
    """Write a Groth16 proving key (:class:`prover.groth16.ProvingKey`) as a snarkjs ``.zkey``."""
    qap = pk.qap
    header = b"".join(
        [
            struct.pack("<I", N8),
            _fe(Q),
            struct.pack("<I", N8),
            _fe(R),
            struct.pack("<III", qap.n_vars, qap.n_public, qap.domain_size),
            _g1_lem(pk.alpha1),
            _g1_lem(pk.beta1),
            _g2_lem(pk.beta2),
            _g2_lem(pk.vk.gamma2),
            _g1_lem(pk.delta1),
            _g2_lem(pk.delta2),
        ]
    )
    coefs = []
    count = 0
    for j in range(max(len(qap.a), len(qap.b))):
        for matrix, rows in ((0, qap.a), (1, qap.b)):
            if j < len(rows):
                for s, c in rows[j]:
                    coefs.append(struct.pack("<III", matrix, j, s) + _fe(c * R2_R % R))
                    count += 1
    sections = [
        (1, struct.pack("<I", 1)),
        (2, header),
        (3, b"".join(_g1_lem(p) for p in pk.vk.ic)),
        (4, struct.pack("<I", count) + b"".join(coefs)),
        (5, b"".join(_g1_lem(p) for p in pk.a_query)),
        (6, b"".join(_g1_lem(p) for p in pk.b1_query)),
        (7, b"".join(_g2_lem(p) for p in pk.b2_query)),
        (8, b"".join(_g1_lem(p) for p in pk.c_query)),
        (9, b"".join(_g1_lem(p) for p in pk.h_query)),
        (10, cs_hash + struct.pack("<I", 0)),
    ]
    write_atomic(path, _container(b"zkey", 1, sections))


@dataclass(frozen=True)
class ZkeyData:
    """A Groth16 ``.zkey`` with its header, IC and QAP rows parsed and the five point sections
    (5 A, 6 B1, 7 B2, 8 C, 9 H) kept as raw bytes: affine, Montgomery form, little-endian,
    checked to hold the expected number of points. Native backends copy these sections as
    they are; :func:`read_zkey` turns them into Python points."""

    path: str
    qap: Any  # prover.groth16.QAP
    alpha1: G1Affine
    beta1: G1Affine
    beta2: G2Affine
    delta1: G1Affine
    delta2: G2Affine
    vk: VerifyingKey
    sections: dict[int, bytes]

    @property
    def point_counts(self) -> dict[int, int]:
        """Points per section: A, B1, B2 have ``nVars``; C the private signals; H the domain."""
        q = self.qap
        return {5: q.n_vars, 6: q.n_vars, 7: q.n_vars, 8: q.n_vars - q.n_public - 1, 9: q.domain_size}


_COEF = struct.Struct("<III32s")


def read_zkey_data(path: str | Path) -> ZkeyData:
    """Read a snarkjs Groth16 ``.zkey`` (ours or snarkjs's) up to its point sections."""
    from prover.groth16 import QAP

    where = str(path)
    sec = _read_container(path, b"zkey", "zkey")
    for k in range(1, 10):
        if k not in sec:
            raise ArtefactError(where, f"zkey lacks section {k}")
    if struct.unpack_from("<I", sec[1], 0)[0] != 1:
        raise ArtefactError(where, "zkey is not a Groth16 key")
    h = sec[2]
    try:
        n8q = struct.unpack_from("<I", h, 0)[0]
        q = int.from_bytes(h[4 : 4 + n8q], "little")
        pos = 4 + n8q
        n8r = struct.unpack_from("<I", h, pos)[0]
        r = int.from_bytes(h[pos + 4 : pos + 4 + n8r], "little")
        pos += 4 + n8r
        n_vars, n_public, domain = struct.unpack_from("<III", h, pos)
        pos += 12
    except struct.error:
        raise ArtefactError(where, "truncated zkey header") from None
    if q != Q or r != R:
        raise ArtefactError(where, "zkey is not for BN254")
    if domain & (domain - 1) or domain == 0:
        raise ArtefactError(where, f"zkey domain size {domain} is not a power of two")
    if n_public + 1 > n_vars:
        raise ArtefactError(where, f"zkey has {n_public} public inputs but only {n_vars} signals")
    g1s = 2 * N8
    g2s = 4 * N8
    if len(h) < pos + 3 * g1s + 3 * g2s:
        raise ArtefactError(where, "truncated zkey header")
    alpha1 = _read_g1s(h[pos:], 1, where, True)[0]
    beta1 = _read_g1s(h[pos + g1s :], 1, where, True)[0]
    beta2 = _read_g2s(h[pos + 2 * g1s :], 1, where, True)[0]
    gamma2 = _read_g2s(h[pos + 2 * g1s + g2s :], 1, where, True)[0]
    delta1 = _read_g1s(h[pos + 2 * g1s + 2 * g2s :], 1, where, True)[0]
    delta2 = _read_g2s(h[pos + 3 * g1s + 2 * g2s :], 1, where, True)[0]
    ic = _read_g1s(sec[3], n_public + 1, where, True)
    c4 = sec[4]
    if len(c4) < 4:
        raise ArtefactError(where, "zkey coefficient section has the wrong size")
    (n_coefs,) = struct.unpack_from("<I", c4, 0)
    if len(c4) != 4 + n_coefs * _COEF.size:
        raise ArtefactError(where, "zkey coefficient section has the wrong size")
    rows: tuple[dict[int, list[tuple[int, int]]], dict[int, list[tuple[int, int]]]] = ({}, {})
    values: dict[bytes, int] = {}  # circuits reuse few distinct coefficients (1, -1, 2^k, ...)
    for i, (m, c, s, raw) in enumerate(_COEF.iter_unpack(c4[4:])):
        if m > 1 or s >= n_vars or c >= domain:
            raise ArtefactError(where, f"zkey coefficient {i} is out of range")
        v = values.get(raw)
        if v is None:
            v = values[raw] = int.from_bytes(raw, "little") * R2_R_INV % R
        row = rows[m].get(c)
        if row is None:
            rows[m][c] = [(s, v)]
        else:
            row.append((s, v))
    n_a = max(rows[0]) + 1 if rows[0] else 0
    n_b = max(rows[1]) + 1 if rows[1] else 0
    a = [rows[0].get(j, []) for j in range(n_a)]
    b = [rows[1].get(j, []) for j in range(n_b)]
    qap = QAP(n_vars, n_public, n_a - n_public - 1, domain, a, b, [])
    vk = VerifyingKey(alpha1, beta2, gamma2, delta2, tuple(ic))
    data = ZkeyData(where, qap, alpha1, beta1, beta2, delta1, delta2, vk, {k: sec[k] for k in range(5, 10)})
    for k, count in data.point_counts.items():
        size = count * (g2s if k == 7 else g1s)
        if len(sec[k]) < size:
            raise ArtefactError(where, f"truncated {'G2' if k == 7 else 'G1'} section {k} ({len(sec[k])} bytes, {count} points need {size})")
    return data


def read_zkey(path: str | Path, check_points: bool = False) -> Any:
    """Read a snarkjs Groth16 ``.zkey`` (ours or snarkjs's) into a ``ProvingKey``."""
    from prover.groth16 import ProvingKey

    d = read_zkey_data(path)
    n = d.point_counts
    return ProvingKey(
        qap=d.qap,
        alpha1=d.alpha1,
        beta1=d.beta1,
        beta2=d.beta2,
        delta1=d.delta1,
        delta2=d.delta2,
        a_query=_read_g1s(d.sections[5], n[5], d.path, check_points),
        b1_query=_read_g1s(d.sections[6], n[6], d.path, check_points),
        b2_query=_read_g2s(d.sections[7], n[7], d.path, check_points),
        c_query=_read_g1s(d.sections[8], n[8], d.path, check_points),
        h_query=_read_g1s(d.sections[9], n[9], d.path, check_points),
        vk=d.vk,
    )


# ------------------------------------------------------------------ JSON ---------------
def write_verification_key(path: str | Path, vk: VerifyingKey) -> None:
    write_json(path, vk.to_snarkjs())


def read_verification_key(path: str | Path) -> VerifyingKey:
    return VerifyingKey.from_snarkjs(read_json(path, "verification key"), str(path))


def write_proof(path: str | Path, proof: Proof) -> None:
    write_json(path, proof.to_snarkjs())


def read_proof(path: str | Path) -> Proof:
    return Proof.from_snarkjs(read_json(path, "proof"), str(path))


def write_public(path: str | Path, public: Sequence[int]) -> None:
    write_json(path, [str(x) for x in public])


def read_public(path: str | Path) -> list[int]:
    return parse_public(read_json(path, "public inputs"), str(path))
