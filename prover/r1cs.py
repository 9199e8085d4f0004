"""A rank-1 constraint system builder with witness generation.

Signals are indices into the witness vector ``w``: ``w[0] = 1`` (the constant one), then the
public inputs ``w[1..n_public]``, then private signals in allocation order (the iden3/circom
wire layout, so ``.r1cs``/``.wtns`` files written from it are what snarkjs expects).

A linear combination (:class:`LC`) is a sparse map ``signal -> coefficient``; a constraint is
``<A, w> * <B, w> = <C, w>``.  Every private signal is created with a *hint*, a function of
the witness computed so far; :meth:`ConstraintSystem.witness` runs the hints in order.
:meth:`ConstraintSystem.first_violation` names the first constraint a witness breaks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Union

from prover.errors import ProverInputError, UnsatisfiedError
from prover.field import R

Hint = Callable[[list[int]], int]
Operand = Union["LC", int]


class LC:
    """A linear combination ``sum_k c_k * w[k]`` (coefficients mod r)."""

    __slots__ = ("terms",)

    def __init__(self, terms: Mapping[int, int] | None = None) -> None:
        self.terms: dict[int, int] = {}
        if terms:
            for k, v in terms.items():
                v %= R
                if v:
                    self.terms[k] = v

    @staticmethod
    def const(value: int) -> LC:
        return LC({0: value})

    @staticmethod
    def of(x: Operand) -> LC:
        return x if isinstance(x, LC) else LC.const(x)

    def __add__(self, other: Operand) -> LC:
        o = LC.of(other)
        out = dict(self.terms)
        for k, v in o.terms.items():
            out[k] = out.get(k, 0) + v
        return LC(out)

    __radd__ = __add__

    def __neg__(self) -> LC:
        return LC({k: -v for k, v in self.terms.items()})

    def __sub__(self, other: Operand) -> LC:
        return self + (-LC.of(other))

    def __rsub__(self, other: Operand) -> LC:
        return LC.of(other) - self

    def __mul__(self, k: int) -> LC:
        if not isinstance(k, int):
            raise TypeError("an LC can only be multiplied by a constant; use a gadget for products")
        return LC({i: v * k for i, v in self.terms.items()})

    __rmul__ = __mul__

    def evaluate(self, w: Sequence[int]) -> int:
        return sum(v * w[k] for k, v in self.terms.items()) % R

    def is_constant(self) -> bool:
        return all(k == 0 for k in self.terms)

    def __repr__(self) -> str:
        return "LC(" + " + ".join(f"{v}*w{k}" for k, v in sorted(self.terms.items())) + ")"


def combine(coeffs: Iterable[int], lcs: Iterable[LC]) -> LC:
    """``sum_j coeffs[j] * lcs[j]`` in one pass (used by the Poseidon mixing layer)."""
    out: dict[int, int] = {}
    for c, lc in zip(coeffs, lcs):
        for k, v in lc.terms.items():
            out[k] = out.get(k, 0) + c * v
    return LC(out)


@dataclass
class Constraint:
    a: list[tuple[int, int]]
    b: list[tuple[int, int]]
    c: list[tuple[int, int]]
    label: str


def _lc_eval(terms: list[tuple[int, int]], w: Sequence[int]) -> int:
    return sum(v * w[k] for k, v in terms) % R


@dataclass
class ConstraintSystem:
    """Signals, constraints and the hints that compute a witness."""

    public_names: list[str] = field(default_factory=list)
    private_names: list[str] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    _hints: list[tuple[int, Hint]] = field(default_factory=list)
    _inputs: dict[str, int] = field(default_factory=dict)  # private input name -> signal
    _sealed_public: bool = False

    # -- signals -----------------------------------------------------------------------
    @property
    def n_public(self) -> int:
        return len(self.public_names)

    @property
    def n_private_inputs(self) -> int:
        return len(self._inputs)

    def r1cs_constraints(self) -> list[tuple[list[tuple[int, int]], list[tuple[int, int]], list[tuple[int, int]]]]:
        """``[(A, B, C)]`` rows as ``(signal, coeff)`` lists (for :func:`prover.formats.write_r1cs`)."""
        return [(k.a, k.b, k.c) for k in self.constraints]

    @property
    def n_signals(self) -> int:
        return 1 + len(self.public_names) + len(self.private_names)

    def public(self, name: str) -> LC:
        """Declare the next public input (all public inputs come before any private signal)."""
        if self._sealed_public:
            raise RuntimeError("public inputs must be declared before private signals")
        self.public_names.append(name)
        return LC({len(self.public_names): 1})

    def _new(self, name: str) -> int:
        self._sealed_public = True
        self.private_names.append(name)
        return len(self.public_names) + len(self.private_names)

    def private_input(self, name: str) -> LC:
        """A private input, assigned by name when computing the witness."""
        idx = self._new(name)
        self._inputs[name] = idx
        return LC({idx: 1})

    def signal(self, name: str, hint: Hint) -> LC:
        """A private intermediate signal whose value ``hint(w)`` computes."""
        idx = self._new(name)
        self._hints.append((idx, hint))
        return LC({idx: 1})

    def index_of(self, lc: LC) -> int:
        """The signal index of a single-signal LC."""
        if len(lc.terms) != 1 or next(iter(lc.terms.values())) != 1:
            raise ValueError("not a single signal")
        return next(iter(lc.terms))

    def signal_name(self, idx: int) -> str:
        if idx == 0:
            return "one"
        if idx <= self.n_public:
            return self.public_names[idx - 1]
        return self.private_names[idx - 1 - self.n_public]

    # -- constraints -------------------------------------------------------------------
    def constrain(self, a: Operand, b: Operand, c: Operand, label: str) -> None:
        """Add ``a * b = c``."""
        la, lb, lc = LC.of(a), LC.of(b), LC.of(c)
        self.constraints.append(
            Constraint(sorted(la.terms.items()), sorted(lb.terms.items()), sorted(lc.terms.items()), label)
        )

    def assert_equal(self, x: Operand, y: Operand, label: str) -> None:
        self.constrain(LC.of(x) - y, 1, 0, label)

    def mul(self, a: Operand, b: Operand, name: str) -> LC:
        """A new signal ``z = a * b`` (one constraint)."""
        la, lb = LC.of(a), LC.of(b)
        if la.is_constant():
            return lb * la.terms.get(0, 0)
        if lb.is_constant():
            return la * lb.terms.get(0, 0)
        z = self.signal(name, lambda w: la.evaluate(w) * lb.evaluate(w) % R)
        self.constrain(la, lb, z, name)
        return z

    # -- witness -----------------------------------------------------------------------
    def witness(self, public: Sequence[int], private: Mapping[str, int], check: bool = True) -> list[int]:
        """Compute the full witness from the public inputs and the named private inputs.

        With ``check`` (default) raise :class:`UnsatisfiedError` naming the first violated
        constraint when the inputs do not satisfy the circuit.
        """
        if len(public) != self.n_public:
            raise ProverInputError("public", f"expected {self.n_public} public inputs, got {len(public)}")
        w = [0] * self.n_signals
        w[0] = 1
        for i, v in enumerate(public):
            w[1 + i] = v % R
        missing = set(self._inputs) - set(private)
        if missing:
            raise ProverInputError(min(missing), "private input not given")
        for name, idx in self._inputs.items():
            w[idx] = private[name] % R
        for idx, hint in self._hints:
            w[idx] = hint(w) % R
        if check:
            bad = self.first_violation(w)
            if bad is not None:
                raise UnsatisfiedError("witness", f"constraint {bad[0]} ({bad[1]}) is violated")
        return w

    def first_violation(self, w: Sequence[int]) -> tuple[int, str] | None:
        """``(index, label)`` of the first constraint ``w`` violates, or None if all hold."""
        if len(w) != self.n_signals or w[0] != 1:
            return (-1, "witness length or w[0] != 1")
        for i, con in enumerate(self.constraints):
            if _lc_eval(con.a, w) * _lc_eval(con.b, w) % R != _lc_eval(con.c, w):
                return (i, con.label)
        return None

    def constraints_using(self) -> list[list[int]]:
        """For each signal, the indices of the constraints it appears in (any of A, B, C)."""
        uses: list[list[int]] = [[] for _ in range(self.n_signals)]
        for i, con in enumerate(self.constraints):
            for k in {s for s, _ in (*con.a, *con.b, *con.c)}:
                uses[k].append(i)
        return uses

    def violated(self, w: Sequence[int], indices: Iterable[int]) -> list[int]:
        """Which of the constraints ``indices`` the witness ``w`` violates."""
        out = []
        for i in indices:
            con = self.constraints[i]
            if _lc_eval(con.a, w) * _lc_eval(con.b, w) % R != _lc_eval(con.c, w):
                out.append(i)
        return out

    def is_satisfied(self, w: Sequence[int]) -> bool:
        return self.first_violation(w) is None
