"""Every input check of the package, in one place.

Errors name the argument, what was expected and what was received. Nothing here modifies its
input: arrays are converted to new arrays when their dtype changes, and left alone otherwise.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._linalg import Operator, as_operator, is_complex, is_linear_operator, real_form, real_rhs
from ._result import column_norms, vector_norm

_NUMERIC_KINDS = "biuf"


@dataclass
class Problem:
    """A validated NNLS problem ``min 0.5 ||A x - b||^2`` s.t. ``x >= 0``.

    ``b`` is float64 and 2-D internally only when the user gave several right-hand sides;
    ``out_dtype`` is the dtype the returned ``x`` takes (float32 stays float32).
    """

    op: Operator
    b: np.ndarray
    out_dtype: np.dtype

    @property
    def shape(self) -> tuple[int, int]:
        return self.op.shape

    @property
    def batched(self) -> bool:
        return self.b.ndim == 2

    @functools.cached_property
    def atb(self) -> np.ndarray:
        """``A^T b``, computed once per solve."""
        return self.op.rmatvec(self.b)

    @functools.cached_property
    def col_norms(self) -> np.ndarray:
        """``||a_i||_2`` for every column, computed once per solve (the certificate's units)."""
        return column_norms(self.op)

    @functools.cached_property
    def b_norm(self) -> np.ndarray | float:
        """``||b||_2`` (per column), the certificate's normalizer."""
        return vector_norm(self.b)


def _dtype_of(name: str, dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(
            f"{name} has dtype {dtype}; expected real numbers (integer or floating point)"
        )
    return dtype


def _check_finite(name: str, values: np.ndarray) -> None:
    if not np.all(np.isfinite(values)):
        bad = int(np.size(values) - np.count_nonzero(np.isfinite(values)))
        raise ValueError(f"{name} contains {bad} non-finite value(s) (NaN or inf)")


def validate_matrix(A) -> Operator:
    """Check ``A`` and return it as a float64 :class:`Operator` (a new array if converted)."""
    if isinstance(A, Operator):
        return A
    if is_linear_operator(A):
        if len(A.shape) != 2:
            raise ValueError(f"A has shape {A.shape}; expected a 2-D operator")
        _dtype_of("A", A.dtype)
        return as_operator(A)
    if sp.issparse(A):
        _dtype_of("A", A.dtype)
        _check_finite("A", A.data)
        return as_operator(A, dtype=np.float64)
    try:
        arr = np.asarray(A)
    except (TypeError, ValueError) as exc:  # ragged lists and the like
        raise TypeError(f"A could not be read as a numeric array: {exc}") from None
    _dtype_of("A", arr.dtype)
    if arr.ndim != 2:
        raise ValueError(f"A has shape {arr.shape}; expected a 2-D array (m, n)")
    # An empty A is well posed: n = 0 has the unique solution x = []; m = 0 makes every
    # x >= 0 optimal, and x = 0 is returned.
    _check_finite("A", arr)
    return as_operator(arr, dtype=np.float64)


def validate_rhs(b, m: int) -> np.ndarray:
    """Check ``b`` against ``m`` rows; return a float64 array of shape (m,) or (m, k)."""
    try:
        arr = np.asarray(b)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"b could not be read as a numeric array: {exc}") from None
    _dtype_of("b", arr.dtype)
    if arr.ndim not in (1, 2):
        raise ValueError(f"b has shape {arr.shape}; expected (m,) or (m, k)")
    if arr.shape[0] != m:
        raise ValueError(f"b has shape {arr.shape}, but A has {m} rows")
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ValueError(f"b has shape {arr.shape}; expected at least one right-hand side")
    _check_finite("b", arr)
    return np.asarray(arr, dtype=np.float64)


def validate_problem(A, b) -> Problem:
    """Validate ``A`` and ``b`` together.

    Complex ``A`` or ``b`` (x stays real) become the real problem ``[Re A; Im A] x ≈ [Re b;
    Im b]``, which has the same objective and the gradient ``Re(A^H (A x − b))``.
    """
    if not isinstance(A, Operator) and (is_complex(A) or is_complex(b)):
        A, b = _complex_as_real(A, b)
    op = validate_matrix(A)
    b64 = validate_rhs(b, op.shape[0])
    a_dtype = A.dtype if hasattr(A, "dtype") else np.asarray(A).dtype
    b_dtype = b.dtype if hasattr(b, "dtype") else np.asarray(b).dtype
    out = np.float32 if np.result_type(a_dtype, b_dtype) == np.float32 else np.float64
    return Problem(op=op, b=b64, out_dtype=np.dtype(out))


def _complex_as_real(A, b):
    """The stacked real form of a complex problem, after checking that b fits A's rows."""
    shape_a, shape_b = getattr(A, "shape", None), getattr(b, "shape", None)
    if shape_a is None:
        shape_a = np.shape(A)
    if shape_b is None:
        shape_b = np.shape(b)
    if len(shape_a) == 2 and len(shape_b) in (1, 2) and shape_b[0] != shape_a[0]:
        raise ValueError(f"b has shape {tuple(shape_b)}, but A has {shape_a[0]} rows")
    return real_form(A), real_rhs(b)


# --------------------------------------------------------------------------------------------
# Options: one declared table. Each validator takes (name, value) and returns the clean value.


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1; got {value}")
    return int(value)


def _depth(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= 2; got {type(value).__name__} {value!r}")
    if value < 2:
        raise ValueError(f"{name} must be >= 2 (x = u**depth); got {value}")
    return int(value)


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    return value


def _positive_real(name: str, value: Any) -> float:
    value = _real(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be > 0; got {value}")
    return value


def _nonnegative_real(name: str, value: Any) -> float:
    value = _real(name, value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0; got {value}")
    return value


def _init_scale(name: str, value: Any) -> float | np.ndarray:
    """One positive scale, or a 1-D array of them (a sweep: one column per scale)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.array(value, dtype=float) if len(value) else np.empty(0)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"{name} must be a positive number or a non-empty 1-D array of "
                             f"them; got shape {arr.shape}")
        if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
            raise ValueError(f"{name} values must be finite and > 0; got {arr.tolist()}")
        return arr if arr.size > 1 else float(arr[0])
    return _positive_real(name, value)


def _step(name: str, value: Any) -> float | str:
    if isinstance(value, str):
        if value != "auto":
            raise ValueError(f"{name} must be 'auto' or a positive number; got {value!r}")
        return value
    return _positive_real(name, value)


def _decay(name: str, value: Any) -> float:
    value = _real(name, value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1] (step_k = step / (k + 2)**decay); got {value}")
    return value


def _callback(name: str, value: Any) -> Callable | None:
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be callable or None; got {type(value).__name__}")
    return value


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def _choice(*choices: str) -> Callable[[str, Any], str]:
    def check(name: str, value: Any) -> str:
        if value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
        return value

    return check


def _max_iter(name: str, value: Any) -> int | None:
    return None if value is None else _positive_int(name, value)


OPTION_VALIDATORS: dict[str, Callable[[str, Any], Any]] = {
    "tol": _nonnegative_real,
    "max_iter": _max_iter,
    "callback": _callback,
    "record": _flag,
    "depth": _depth,
    "init_scale": _init_scale,
    "step": _step,
    "decay": _decay,
    "bb": _choice("alternating", "long", "short"),
    "restart": _flag,
}

# What each option means, for help texts (the ``reparam solve`` options are generated from
# the method table and take their help from here). ``callback`` and ``record`` are API-only.
OPTION_HELP: dict[str, str] = {
    "tol": "stop when the relative KKT residual (reparam.kkt_residual, the certificate) is "
           "<= TOL",
    "max_iter": "most iterations (exact methods: pivoting rounds); none = the method's own "
                "limit",
    "callback": "callback(state) -> bool, called after every iteration; True stops",
    "record": "keep the objective and kkt of every iteration in Result.history",
    "depth": "L in x = u**L, an integer >= 2",
    "init_scale": "alpha > 0: start at u0 = alpha (x0 = alpha**depth); a small alpha biases "
                  "toward sparse (minimum-l1) solutions",
    "step": "'auto' (the method's step from a Lipschitz bound) or a positive number",
    "decay": "gamma in [0, 1]: step_k = step / (k + 2)**gamma (0 = constant step)",
    "bb": "Barzilai-Borwein step length: alternating, long or short",
    "restart": "true or false: adaptive restart of the momentum (O'Donoghue & Candès 2015)",
}


def check_option(name: str, value: Any) -> Any:
    """Check one option by its entry in :data:`OPTION_VALIDATORS`."""
    return OPTION_VALIDATORS[name](name, value)


def validate_options(method: str, allowed: dict[str, Any], given: dict[str, Any]) -> dict:
    """Merge ``given`` into the method's defaults ``allowed``, checking names and values."""
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise TypeError(
            f"method {method!r} got unknown option(s) {', '.join(unknown)}; "
            f"it accepts {', '.join(sorted(allowed))}"
        )
    opts = dict(allowed)
    for name, value in given.items():
        if name == "max_iter" and value is None:
            continue  # None: the method's own limit (as in scipy.optimize)
        validator = OPTION_VALIDATORS.get(name)
        opts[name] = validator(name, value) if validator else value
    return opts


def validate_x0(x0, n: int, b: np.ndarray) -> np.ndarray | None:
    """Check a warm start: finite, ``>= 0``, shape (n,) or (n, k) matching ``b``."""
    if x0 is None:
        return None
    try:
        arr = np.asarray(x0)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"x0 could not be read as a numeric array: {exc}") from None
    _dtype_of("x0", arr.dtype)
    expected = (n,) if b.ndim == 1 else (n, b.shape[1])
    if arr.shape != expected:
        raise ValueError(f"x0 has shape {arr.shape}; expected {expected} to match A and b")
    _check_finite("x0", arr)
    if np.any(arr < 0):
        raise ValueError(
            f"x0 has {int(np.count_nonzero(arr < 0))} negative entries (min {arr.min():.3g}); "
            "a warm start must be >= 0"
        )
    return np.array(arr, dtype=np.float64)
