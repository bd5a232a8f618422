"""Matrix parametrizations: parameters are a tuple of matrices (U Vᵀ, U Uᵀ, W_L ⋯ W_1, …)."""

from __future__ import annotations

import numbers

import numpy as np

from ._base import (
    Domain,
    Parametrization,
    _check_kind,
    _positive_scale,
    _size,
)


def _matrix_shape(shape) -> tuple[int, int]:
    shape = tuple(int(s) for s in np.atleast_1d(shape))
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"a matrix parametrization needs shape (d1, d2); got {shape}")
    return shape


def _factor(rows: int, cols: int, scale: float, rng, kind: str) -> np.ndarray:
    """``scale`` times the rectangular identity, a Gaussian matrix, or orthonormal columns/rows."""
    if kind == "identical":
        return scale * np.eye(rows, cols)
    gen = np.random.default_rng(rng)
    g = gen.standard_normal((rows, cols))
    if kind == "gaussian":
        return scale * g
    q, r = np.linalg.qr(g if rows >= cols else g.T)
    q = q * np.sign(np.diag(r))  # the Haar-distributed orthogonal factor
    return scale * (q if rows >= cols else q.T)


_MATRIX_KINDS = ("identical", "gaussian", "orthogonal")


class _MatrixParametrization(Parametrization):
    commuting = False
    signed = True
    domain = Domain(description="R^{d1 x d2}")
    default_init = "gaussian"

    def initial_u(self, x0=None, init_scale=None, n=None):
        raise ValueError(f"{type(self).__name__} parameters are matrices: use "
                         f"init(shape, init_scale, rng, kind)")


class Product(_MatrixParametrization):
    r"""``X = U Vᵀ`` with ``U`` of shape (d1, width) and ``V`` of shape (d2, width).

    Gradient descent on ``(U, V)`` from a small initialization is biased towards low rank
    (Gunasekar et al., "Implicit regularization in matrix factorization", NeurIPS 2017;
    Li, Ma & Zhang, COLT 2018): the engine's model of matrix sensing.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.parametrizations import Product
    >>> p = Product(width=2)
    >>> U, V = p.init((3, 4), 0.1, rng=0, kind="identical")
    >>> p.forward((U, V)).shape, float(p.forward((U, V))[0, 0])
    ((3, 4), 0.010000000000000002)
    """

    def __init__(self, width: int):
        self.width = _size(width, "width")

    def __repr__(self) -> str:
        return f"Product(width={self.width})"

    def forward(self, params):
        U, V = params
        return U @ V.T

    def vjp(self, params, g):
        U, V = params
        return g @ V, g.T @ U

    def init(self, shape, init_scale, rng=None, kind="gaussian"):
        """``U0, V0`` of scale ``init_scale`` (kind: identical, gaussian, orthogonal)."""
        d1, d2 = _matrix_shape(shape)
        kind = _check_kind(kind, _MATRIX_KINDS)
        alpha = _positive_scale(init_scale, "init_scale")
        gen = np.random.default_rng(rng)
        return (_factor(d1, self.width, alpha, gen, kind),
                _factor(d2, self.width, alpha, gen, kind))


def _spectral2(F: np.ndarray) -> float:
    """``‖F‖₂²`` of a thin matrix, from the eigenvalues of its small Gram matrix ``FᵀF``."""
    return float(np.linalg.eigvalsh(F.T @ F)[-1]) if F.size else 0.0


class NonnegativeProduct(_MatrixParametrization):
    r"""``X = (U⊙U)(V⊙V)ᵀ`` with ``U`` of shape (d1, width), ``V`` of shape (d2, width).

    Non-negative matrix factorization ``X = W Hᵀ``, ``W, H >= 0``, by the reparametrization
    ``W = U⊙U``, ``H = V⊙V`` of Chou, Maly, Verdun, Freitas Paulo da Costa, Mirandola, "Get rid
    of your constraints and reparametrize" (AISTATS 2025, arXiv 2207.08437), which names NMF as
    its first application: gradient steps on the unconstrained ``(U, V)`` keep both factors
    non-negative. A zero entry of ``U`` or ``V`` never moves (its gradient is zero).

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.parametrizations import NonnegativeProduct
    >>> p = NonnegativeProduct(width=2)
    >>> U, V = p.init((3, 4), 0.1, rng=0, kind="identical")
    >>> X = p.forward((U, V))
    >>> X.shape, round(float(X[0, 0]), 12), bool((p.forward(p.init((3, 4), 0.1, rng=0)) >= 0).all())
    ((3, 4), 0.0001, True)
    """

    signed = False
    domain = Domain(0.0, np.inf, description="the non-negative matrices X >= 0")

    def __init__(self, width: int):
        self.width = _size(width, "width")

    def __repr__(self) -> str:
        return f"NonnegativeProduct(width={self.width})"

    def forward(self, params):
        U, V = params
        return (U * U) @ (V * V).T

    def vjp(self, params, g):
        U, V = params
        return 2.0 * U * (g @ (V * V)), 2.0 * V * (g.T @ (U * U))

    def curvature(self, params, g, lipschitz: float, columns: bool = False) -> float:
        """A bound on the curvature of ``h(U, V) = f((U⊙U)(V⊙V)ᵀ)`` near ``(U, V)``.

        Along a direction ``(D, E)``, ``h'' = ∇²f[X', X'] + ⟨G, X''⟩`` with ``G = ∇f(X)``,
        ``X' = 2(U⊙D)Hᵀ + 2W(V⊙E)ᵀ`` and ``X'' = 2D²Hᵀ + 2W(E²)ᵀ + 8(U⊙D)(V⊙E)ᵀ``
        (``W = U⊙U``, ``H = V⊙V``). Hence ``h'' <= (4 u²‖H‖² + 4 v²‖W‖²) lipschitz +
        2 max(|GH|_max, |GᵀW|_max) + 4 u v ‖G‖`` per unit ``‖(D, E)‖²``, with ``u, v`` the
        largest ``|U|``, ``|V|``, ``‖H‖``, ``‖W‖`` spectral norms (from the width × width Gram
        matrices) and ``‖G‖`` bounded by its Frobenius norm. The middle term is
        doubled (as in ``Power.curvature``) so that a step of ``1 / curvature`` changes each
        entry of ``U`` and ``V`` by at most half of itself, which keeps their signs.
        """
        U, V = params
        W, H = U * U, V * V
        u, v = float(np.max(np.abs(U), initial=0.0)), float(np.max(np.abs(V), initial=0.0))
        fit = 4.0 * (u * u * _spectral2(H) + v * v * _spectral2(W)) * lipschitz
        side = max(float(np.max(np.abs(g @ H), initial=0.0)),
                   float(np.max(np.abs(g.T @ W), initial=0.0)))
        return fit + 4.0 * side + 4.0 * u * v * float(np.linalg.norm(g))

    def init(self, shape, init_scale, rng=None, kind="gaussian"):
        """``U0, V0`` of scale ``init_scale`` (kind: identical, gaussian, orthogonal; the
        absolute values are taken, so ``X0 >= 0`` has scale ``width · init_scale⁴``)."""
        d1, d2 = _matrix_shape(shape)
        kind = _check_kind(kind, _MATRIX_KINDS)
        alpha = _positive_scale(init_scale, "init_scale")
        gen = np.random.default_rng(rng)
        return (np.abs(_factor(d1, self.width, alpha, gen, kind)),
                np.abs(_factor(d2, self.width, alpha, gen, kind)))


class SymmetricProduct(_MatrixParametrization):
    r"""``X = U Uᵀ`` with ``U`` of shape (d, width): symmetric positive semi-definite matrices.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.parametrizations import SymmetricProduct
    >>> p = SymmetricProduct(width=2)
    >>> U = p.init((3, 3), 1.0, kind="identical")
    >>> p.forward(U)
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 0.]])
    """

    signed = False

    def __init__(self, width: int):
        self.width = _size(width, "width")

    def __repr__(self) -> str:
        return f"SymmetricProduct(width={self.width})"

    def forward(self, U):
        return U @ U.T

    def vjp(self, U, g):
        return (g + g.T) @ U

    def init(self, shape, init_scale, rng=None, kind="gaussian"):
        d1, d2 = _matrix_shape(shape)
        if d1 != d2:
            raise ValueError(f"SymmetricProduct needs a square shape; got {(d1, d2)}")
        return _factor(d1, self.width, _positive_scale(init_scale, "init_scale"), rng,
                       _check_kind(kind, _MATRIX_KINDS))


class DeepProduct(_MatrixParametrization):
    r"""``X = W_L ⋯ W_2 W_1`` (a deep linear network), ``W_1`` of shape (width, d2), inner
    layers (width, width), ``W_L`` of shape (d1, width); ``width`` defaults to ``max(d1, d2)``.

    Deeper products sharpen the low-rank bias of small initialization (Arora, Cohen, Hu & Luo,
    "Implicit regularization in deep matrix factorization", NeurIPS 2019).

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.parametrizations import DeepProduct
    >>> p = DeepProduct(depth=3)
    >>> Ws = p.init((2, 2), 0.5, kind="identical")
    >>> p.forward(Ws)
    array([[0.125, 0.   ],
           [0.   , 0.125]])
    """

    def __init__(self, depth: int, width: int | None = None):
        if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or depth < 1:
            raise ValueError(f"depth must be an integer >= 1; got {depth!r}")
        self.depth = int(depth)
        self.width = None if width is None else _size(width, "width")

    def __repr__(self) -> str:
        return f"DeepProduct(depth={self.depth}, width={self.width})"

    def forward(self, Ws):
        X = Ws[0]
        for W in Ws[1:]:
            X = W @ X
        return X

    def vjp(self, Ws, g):
        # left[i] = W_L ⋯ W_{i+1}, right[i] = W_{i-1} ⋯ W_1 (identity where empty)
        L = len(Ws)
        right = [None] * L
        acc = None
        for i in range(L):
            right[i] = acc
            acc = Ws[i] if acc is None else Ws[i] @ acc
        grads = [None] * L
        left = None
        for i in reversed(range(L)):
            gi = g if left is None else left.T @ g
            grads[i] = gi if right[i] is None else gi @ right[i].T
            left = Ws[i] if left is None else left @ Ws[i]
        return tuple(grads)

    def init(self, shape, init_scale, rng=None, kind="gaussian"):
        """Each layer at scale ``init_scale`` (so ``X0`` is of order ``init_scale**depth``)."""
        d1, d2 = _matrix_shape(shape)
        kind = _check_kind(kind, _MATRIX_KINDS)
        alpha = _positive_scale(init_scale, "init_scale")
        h = self.width or max(d1, d2)
        dims = [d2] + [h] * (self.depth - 1) + [d1]
        gen = np.random.default_rng(rng)
        return tuple(_factor(dims[i + 1], dims[i], alpha, gen, kind) for i in range(self.depth))


