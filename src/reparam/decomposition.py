"""Non-negative matrix factorization, scikit-learn compatible.

``NMF`` approximates a non-negative ``X`` (n_samples, n_features) by ``W @ H`` with ``W >= 0``
(n_samples, k) and ``H = components_ >= 0`` (k, n_features), minimizing
``f(W, H) = ½ ‖X − W H‖_F²``. Solvers:

* ``"hals"`` (default): hierarchical alternating least squares, exact coordinate minimization
  over one row of ``H`` (column of ``W``) at a time (Cichocki & Phan, "Fast local algorithms for
  large scale nonnegative matrix and tensor factorizations", IEICE Trans. Fundamentals E92-A
  (2009)), with several cheap sweeps per Gram product as in Gillis & Glineur, "Accelerated
  multiplicative updates and hierarchical ALS algorithms for nonnegative matrix factorization",
  Neural Computation 24 (2012): the products ``X Hᵀ`` and ``Wᵀ X`` cost O(nnz(X) k) and a sweep
  O((n_samples + n_features) k²), so more sweeps are nearly free.
* ``"anls"``: alternating exact non-negative least squares, each half-step one batched call of
  the exact active-set kernel with a shared Gram pair, warm-started from the previous passive
  sets (Kim & Park, SIAM J. Sci. Comput. 33 (2011)).
* ``"reparam-gd"`` / ``"reparam-nesterov"``: the reparametrization ``W = U⊙U``, ``H = V⊙V`` of
  Chou et al., "Get rid of your constraints and reparametrize" (AISTATS 2025), run by the
  engine :func:`reparam.train` on ``½‖X − (U⊙U)(V⊙V)ᵀ‖²``
  (:class:`reparam.parametrizations.NonnegativeProduct`): joint gradient steps on ``(U, V)``
  with Armijo backtracking ("reparam-gd", the objective decreases at every step), or Nesterov
  momentum with adaptive restart and the step of ``NonnegativeProduct.curvature``
  ("reparam-nesterov", not monotone; the best iterate is returned). They start from *small*
  factors: those of ``init`` times ``init_scale`` (default 1e-2), so ``init`` gives only the
  direction. They form the dense product ``W H``: a sparse ``X`` is densified (up to
  25 million entries; larger sparse inputs are refused with a ValueError).

"hals" and "anls" extrapolate as in Ang & Gillis, "Accelerating nonnegative matrix
factorization algorithms using extrapolation", Neural Computation 31 (2019), with restarts that
keep the objective of the accepted iterates non-increasing.

Every solver stops when the projected-gradient norm of ``f`` (Lin, "Projected gradient methods
for nonnegative matrix factorization", Neural Computation 19 (2007)), the NMF KKT residual,
falls below ``tol`` times its value at the initial point (for the reparametrized solvers: at
the factors of ``init`` before the shrink, the same reference as the other solvers, and only
once the objective is below its value there, so the saddle point near zero is never taken for
a solution).

"hals" and "anls" work on the products ``X Hᵀ``, ``H Hᵀ``, ``Wᵀ X``, ``Wᵀ W`` only, so a sparse
``X`` is never densified, and the objective is read from them by
``‖X − W H‖² = ‖X‖² − 2⟨W, X Hᵀ⟩ + ⟨Wᵀ W, H Hᵀ⟩``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._result import CTRL_C, Status
from ._sklearn import (  # a clear error where scikit-learn is missing
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ConvergenceWarning,
    TransformerMixin,
    check_array,
    check_is_fitted,
    check_non_negative,
    check_random_state,
)
from ._sklearn import validate_data as _validate_data
from .parametrizations import NonnegativeProduct
from .solvers.active_set import active_set_nnls

__all__ = [
    "NMF",
    "NMFData",
    "nndsvd",
    "projected_gradient_norm",
]

SOLVERS = ("hals", "anls", "reparam-gd", "reparam-nesterov")
INITS = ("random", "nndsvd", "nndsvda", "custom")
# The reparametrized solvers start from the initial factors times this (small initialization).
INIT_SCALE = 1e-2
# ... and form the dense n_samples x n_features product W H: a sparse X is densified up to this
# many entries (the size of the product itself), refused above.
_REPARAM_DENSE_MAX = 25_000_000
# Accelerated HALS (Gillis & Glineur 2012, section 3): inner sweeps continue while the change of
# a sweep is above this fraction of the first sweep's change ...
_HALS_INNER_EPS = 0.01
# ... and at most 1 + this factor times (cost of the Gram products / cost of a sweep).
_HALS_INNER_ALPHA = 0.5
_HALS_INNER_MAX = 20
# Extrapolation (Ang & Gillis 2019, Algorithm 2, their recommended values): initial β, its
# shrink factor after a rejected step, its growth factor after an accepted one, and the growth
# of its cap.
_BETA0 = 0.5
_ETA = 1.5
_GAMMA = 1.01
_GAMMA_MAX = 1.005
_TINY = np.finfo(np.float64).tiny



# --------------------------------------------------------------------------------------------
# initialization


def nndsvd(X, n_components: int, *, fill: str = "zeros", random_state=None):
    """Non-negative double SVD initialization of NMF.

    Boutsidis & Gallopoulos, "SVD based initialization: a head start for nonnegative matrix
    factorization", Pattern Recognition 41 (2008), Algorithm NNDSVD: each singular triplet
    ``(s, u, v)`` is replaced by the larger (in the product of norms) of its positive and
    negative parts, which is a non-negative rank-one approximation of ``s u vᵀ``.

    Parameters
    ----------
    X : ndarray or sparse matrix, shape (m, n), non-negative
    n_components : int
    fill : {"zeros", "mean"}
        ``"zeros"`` is NNDSVD; ``"mean"`` (NNDSVDa) replaces the zeros by the mean of X, which
        suits solvers that cannot move an entry away from zero.
    random_state : int, RandomState or None
        Seeds the randomized start of the sparse truncated SVD (unused for dense X).

    Returns
    -------
    W : ndarray, shape (m, n_components)
    H : ndarray, shape (n_components, n)

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.decomposition import nndsvd
    >>> X = np.abs(np.random.default_rng(0).standard_normal((6, 5)))
    >>> W, H = nndsvd(X, 2)
    >>> W.shape, H.shape, bool((W >= 0).all() and (H >= 0).all())
    ((6, 2), (2, 5), True)
    """
    if fill not in ("zeros", "mean"):
        raise ValueError(f"fill must be 'zeros' or 'mean', got {fill!r}")
    m, n = X.shape
    k = int(n_components)
    if sp.issparse(X) and k < min(m, n) - 1:
        from scipy.sparse.linalg import svds

        v0 = check_random_state(random_state).uniform(-1, 1, min(m, n))
        U, S, Vt = svds(X.astype(np.float64), k=k, v0=v0)
        order = np.argsort(S)[::-1]
        U, S, Vt = U[:, order], S[order], Vt[order]
    else:
        dense = X.toarray() if sp.issparse(X) else X
        U, S, Vt = np.linalg.svd(np.asarray(dense, dtype=np.float64), full_matrices=False)
        U, S, Vt = U[:, :k], S[:k], Vt[:k]
    W = np.zeros((m, k))
    H = np.zeros((k, n))
    # The leading pair of a non-negative matrix is non-negative (Perron-Frobenius) up to sign.
    W[:, 0] = np.sqrt(S[0]) * np.abs(U[:, 0])
    H[0, :] = np.sqrt(S[0]) * np.abs(Vt[0, :])
    for j in range(1, k):
        u, v = U[:, j], Vt[j, :]
        up, un = np.maximum(u, 0), np.maximum(-u, 0)
        vp, vn = np.maximum(v, 0), np.maximum(-v, 0)
        nup, nun = np.linalg.norm(up), np.linalg.norm(un)
        nvp, nvn = np.linalg.norm(vp), np.linalg.norm(vn)
        if nup * nvp >= nun * nvn:
            a, b, sigma = up / max(nup, _TINY), vp / max(nvp, _TINY), nup * nvp
        else:
            a, b, sigma = un / max(nun, _TINY), vn / max(nvn, _TINY), nun * nvn
        W[:, j] = np.sqrt(S[j] * sigma) * a
        H[j, :] = np.sqrt(S[j] * sigma) * b
    # Entries below rounding are zeros, as in the paper's algorithm.
    W[W < 1e-12 * max(W.max(initial=0.0), _TINY)] = 0.0
    H[H < 1e-12 * max(H.max(initial=0.0), _TINY)] = 0.0
    if fill == "mean":
        mean = float(X.sum() / (m * n))
        W[W == 0] = mean
        H[H == 0] = mean
    return W, H


# --------------------------------------------------------------------------------------------
# products shared by every solver


class NMFData:
    """The data matrix X as the NMF steps read it: X and Xᵀ in a fast layout (CSR for sparse
    X, never densified), ‖X‖², and the products ``X Hᵀ``, ``Wᵀ X`` and the objective.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.decomposition import NMFData
    >>> X = np.array([[1.0, 2.0], [3.0, 4.0]]); W = np.eye(2); H = X.copy()
    >>> data = NMFData(X)
    >>> data.objective(W, data.XHt(H), W.T @ W, H @ H.T)
    0.0
    """

    def __init__(self, X):
        if sp.issparse(X):
            self.X = sp.csr_matrix(X, dtype=np.float64)
            self.Xt = self.X.T.tocsr()
            self.norm2 = float(np.dot(self.X.data, self.X.data))
            self.nnz = self.X.nnz
        else:
            self.X = np.asarray(X, dtype=np.float64)
            self.Xt = self.X.T
            self.norm2 = float(np.vdot(self.X, self.X))
            self.nnz = self.X.size

    def XHt(self, H):
        """X Hᵀ, shape (m, k)."""
        return np.asarray(self.X @ H.T)

    def WtX(self, W):
        """Wᵀ X, shape (k, n)."""
        return np.asarray(self.Xt @ W).T

    def objective(self, W, XHt, WtW, HHt):
        """½ ‖X − W H‖² from the products (clipped at 0 against cancellation)."""
        value = self.norm2 - 2.0 * float(np.vdot(W, XHt)) + float(np.vdot(WtW, HHt))
        return 0.5 * max(value, 0.0)


def _projected(g, x):
    """Projected gradient of a bound-constrained problem: g where x > 0, min(g, 0) at x = 0."""
    return np.where(x > 0, g, np.minimum(g, 0.0))


def projected_gradient_norm(X, W, H) -> float:
    """The NMF KKT residual: Frobenius norm of the projected gradient of ½‖X − W H‖².

    Zero exactly at a KKT point of ``min ½‖X − W H‖²  s.t.  W, H >= 0`` (Lin 2007, eq. (6)).

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.decomposition import projected_gradient_norm
    >>> W = np.array([[1.0], [2.0]]); H = np.array([[3.0, 1.0]])
    >>> projected_gradient_norm(W @ H, W, H)
    0.0
    """
    data = NMFData(X)
    gW = W @ (H @ H.T) - data.XHt(H)
    gH = (W.T @ W) @ H - data.WtX(W)
    return float(np.sqrt(np.sum(_projected(gW, W) ** 2) + np.sum(_projected(gH, H) ** 2)))


# --------------------------------------------------------------------------------------------
# half-steps: update Ht (k, n) given the Gram pair G = Wᵀ W (k, k), C = Wᵀ X (k, n)
# (the W half-step is the same with G = H Hᵀ, C = H Xᵀ and W stored transposed).


def _hals_half_step(Ht, G, C, max_inner):
    """Sweeps of exact coordinate minimization over the rows of Ht, in place."""
    k = G.shape[0]
    first = None
    active = [j for j in range(k) if G[j, j] > 0]  # a zero factor leaves its row out of f
    inv = 1.0 / np.where(np.diag(G) > 0, np.diag(G), 1.0)
    for _ in range(max_inner):
        before = Ht.copy()
        for j in active:
            new = Ht[j] + (C[j] - G[j] @ Ht) * inv[j]
            np.maximum(new, 0.0, out=Ht[j])
        change = float(np.vdot(Ht - before, Ht - before))
        if first is None:
            first = change
        elif change <= _HALS_INNER_EPS**2 * first:
            break
    return Ht


def _gram_factor(G, C):
    """A small least-squares problem with the Gram pair (G, C): ``Rᵀ R = G``, ``Rᵀ d = C``.

    ``min ‖R h − d‖`` has the objective of ``min ‖W h − x‖`` up to a constant, so the exact
    kernel can fall back on it column by column without ever seeing X (which may be sparse).
    Written with an eigendecomposition so that a singular G (a zero factor) is allowed: C lies
    in range(G) = range(Wᵀ).
    """
    lam, Q = np.linalg.eigh(G)
    keep = lam > max(float(lam[-1]), _TINY) * 1e-14 if lam.size else lam > 0
    root = np.sqrt(np.where(keep, lam, 0.0))
    R = root[:, None] * Q.T
    inv = np.where(keep, 1.0 / np.where(keep, root, 1.0), 0.0)
    d = inv[:, None] * (Q.T @ C)
    return R, d


def _anls_half_step(Ht, G, C):
    """Exact NNLS for every column of Ht at once, warm-started from its current support."""
    R, d = _gram_factor(G, C)
    out = active_set_nnls(R, d, x0=Ht, gram=(G, C))
    return np.maximum(out.x, 0.0)


# --------------------------------------------------------------------------------------------
# the alternating loop


@dataclass
class _Fit:
    W: np.ndarray
    H: np.ndarray
    n_iter: int
    converged: bool
    objective: list


def _inner_sweeps(data, m, n, k):
    cost_products = data.nnz * k + max(m, n) * k * k
    return int(min(_HALS_INNER_MAX,
                   1 + _HALS_INNER_ALPHA * cost_products / max(1, (m + n) * k * k)))


class _Monitor:
    """The stopping test (projected gradient relative to its first value), the progress line
    and the callback: one place for every solver's loop."""

    def __init__(self, data, solver, tol, verbose, callback):
        self.data, self.solver, self.tol = data, solver, tol
        self.verbose, self.callback = verbose, callback
        self.pg0 = None
        self.history = []
        self.start = time.perf_counter()

    def done(self, it, W, H, objective, grad_W, grad_H) -> bool:
        pg = float(np.sqrt(np.sum(_projected(grad_W, W) ** 2)
                           + np.sum(_projected(grad_H, H) ** 2)))
        if self.pg0 is None:
            self.pg0 = max(pg, _TINY)
        self.last_pg = pg
        self.history.append(objective)
        if self.verbose and it % 10 == 0:
            err = np.sqrt(2 * objective / max(self.data.norm2, _TINY))
            print(f"NMF[{self.solver}] iter {it:4d}  rel. error {err:.6e}  "
                  f"kkt {pg / self.pg0:.3e}  time {time.perf_counter() - self.start:.3f}s")
        if self.callback is not None:
            self.callback(it, W, H, objective)
        return pg <= self.tol * self.pg0


def _fit(data: NMFData, W, H, solver, tol, max_iter, verbose, callback=None,
         init_scale=INIT_SCALE):
    """Run ``solver`` from (W, H) until the relative projected gradient is <= tol."""
    if solver.startswith("reparam"):
        return _fit_reparam(data, W, H, solver, tol, max_iter, verbose, callback, init_scale)
    return _fit_alternating(data, W, H, solver, tol, max_iter, verbose, callback)


def _fit_alternating(data, W, H, solver, tol, max_iter, verbose, callback):
    """HALS or ANLS, with the extrapolation of Ang & Gillis, "Accelerating nonnegative matrix
    factorization algorithms using extrapolation", Neural Computation 31 (2019), Algorithm 2.

    Each iteration updates W from an extrapolated ``Ĥ = H + β (H − H_prev)``, extrapolates
    ``Ŵ = max(0, W⁺ + β (W⁺ − W))``, then updates H from Ŵ. The pair (Ŵ, H⁺) is accepted only
    if it lowers f (read for free from the products of the H half-step); otherwise the
    iteration is discarded, β shrinks (restart) and the next iteration is plain (β = 0), which
    cannot raise f. So the accepted iterates decrease f monotonically. X Ĥᵀ is linear in Ĥ
    and is combined from X Hᵀ and X H_prevᵀ: one product with X per half-step, as without
    extrapolation.
    """
    m, n = data.X.shape
    k = W.shape[1]
    inner = _inner_sweeps(data, m, n, k) if solver == "hals" else 1

    def update(Ft, G, C):
        if solver == "hals":
            return _hals_half_step(Ft, G, C, inner)
        return _anls_half_step(Ft, G, C)

    monitor = _Monitor(data, solver, tol, verbose, callback)
    Wt = np.ascontiguousarray(W.T)  # the W half-step works on rows of Wᵀ
    Ht = np.ascontiguousarray(H)
    P = data.XHt(Ht)  # X Hᵀ at the accepted H
    WtW = Wt @ Wt.T
    C = data.WtX(Wt.T)
    HHt = Ht @ Ht.T
    f = data.objective(Wt.T, P, WtW, HHt)
    grad_H = WtW @ Ht - C
    beta, beta_max = _BETA0, 1.0
    H_prev = P_prev = None
    plain = True  # the first iteration has nothing to extrapolate from
    converged = False
    it = 0
    for it in range(max_iter + 1):
        grad_W = Wt.T @ HHt - P
        if monitor.done(it, Wt.T, Ht, f, grad_W, grad_H):
            converged = True
            break
        if it == max_iter:
            break
        b = 0.0 if plain or beta <= 0 else beta
        if b > 0:
            Hh = Ht + b * (Ht - H_prev)
            Ph = P + b * (P - P_prev)
            HhHht = Hh @ Hh.T
        else:
            Hh, Ph, HhHht = Ht, P, HHt
        Wt_new = update(Wt.copy(), HhHht, np.ascontiguousarray(Ph.T))
        if b > 0:
            Wt_new = np.maximum(Wt_new + b * (Wt_new - Wt), 0.0)
        WtW_new = Wt_new @ Wt_new.T
        C_new = data.WtX(Wt_new.T)
        Ht_new = update(np.maximum(Hh, 0.0), WtW_new, C_new)
        HHt_new = Ht_new @ Ht_new.T
        f_new = 0.5 * max(data.norm2 - 2.0 * float(np.vdot(Ht_new, C_new))
                          + float(np.vdot(WtW_new, HHt_new)), 0.0)
        if f_new <= f or b == 0:
            # Accept (a plain step never raises f; the test guards rounding only).
            H_prev, P_prev = Ht, P
            Wt, Ht, HHt, f = Wt_new, Ht_new, HHt_new, f_new
            P = data.XHt(Ht)
            grad_H = WtW_new @ Ht - C_new
            if b > 0:
                beta = min(beta_max, _GAMMA * beta)
                beta_max = min(1.0, _GAMMA_MAX * beta_max)
            plain = False
        else:
            beta_max, beta = beta, beta / _ETA
            plain = True
    return _Fit(np.ascontiguousarray(Wt.T), Ht, it, converged, monitor.history)


class _Remembered(NonnegativeProduct):
    """``NonnegativeProduct`` that remembers the parameters of the last ``X`` it formed.

    The engine certifies the point it last formed (for Nesterov the extrapolated one, for
    Armijo the accepted trial), so the NMF certificate reads that point's factors from here.
    """

    def forward(self, params):
        x = super().forward(params)
        self.last = (x, params)
        return x


class _Certificate:
    """The NMF KKT residual as the engine's certificate of ``X = (U⊙U)(V⊙V)ᵀ``.

    ``certificate(X, G)`` (``G = X − data``, the gradient of the objective) returns the
    projected-gradient norm of ``f(W, H)`` at ``W = U⊙U``, ``H = (V⊙V)ᵀ`` relative to its value
    at the unshrunk initial factors (``monitor.pg0``). It is ``inf`` while ``f`` is still above
    its value at those factors, so that the saddle point ``(0, 0)`` near which the run starts
    is never certified. It also feeds the monitor (history, progress line, callback) and keeps
    the factors of the iterate the engine returns (the first certified one, else the one with
    the lowest objective: the engine's own rule). A line search that found no decrease hands
    back the point certified last: its value is returned again.
    """

    def __init__(self, param, monitor, f_ref):
        self.param, self.monitor, self.f_ref = param, monitor, f_ref
        self.it = 0
        self.best = self.last = self.x_last = None

    def certificate(self, x, g, scale=None, norm=1.0, *, axis=0):
        if x is self.x_last:
            return self.last[3]
        seen, (U, V) = self.param.last
        if seen is not x:  # pragma: no cover - the engine certifies a point it formed
            raise RuntimeError("the NMF certificate got a point it did not see formed")
        self.x_last = x
        W, H = U * U, (V * V).T
        f = 0.5 * float(np.vdot(g, g))
        self.monitor.done(self.it, W, H, f, g @ H.T, W.T @ g)
        pg = self.monitor.last_pg / self.monitor.pg0
        cert = pg if f <= self.f_ref else np.inf
        self.it += 1
        self.last = (W, H, f, cert)
        if self.best is None or f < self.best[2] or (f == self.best[2] and cert < self.best[3]):
            self.best = self.last
        return cert


def _fit_reparam(data, W, H, solver, tol, max_iter, verbose, callback, init_scale):
    """Gradient steps on (U, V), W = U⊙U, H = (V⊙V)ᵀ, through :func:`reparam.train`.

    The run starts from ``U = √(init_scale · W)``, ``V = √(init_scale · Hᵀ)``: the given
    factors shrunk by ``init_scale`` (the small initialization of Chou et al., whose implicit
    bias is the point of the reparametrization), so they seed only the direction. The engine
    minimizes ``½‖X − (U⊙U)(V⊙V)ᵀ‖²`` ("gd": Armijo backtracking, so the objective decreases
    at every step; "nesterov": momentum with adaptive restart and the step of
    ``NonnegativeProduct.curvature``) and stops on the NMF KKT residual.
    """
    from ._train import train
    from .objectives import Factorization

    X = data.X
    if sp.issparse(X):
        if X.shape[0] * X.shape[1] > _REPARAM_DENSE_MAX:
            raise ValueError(
                f"solver={solver!r} forms the dense product W H of shape {X.shape}, above "
                f"{_REPARAM_DENSE_MAX} entries for a sparse X; use solver='hals' or 'anls', "
                "which never densify X")
        X = X.toarray()
    k = W.shape[1]
    monitor = _Monitor(data, solver, tol, verbose, callback)
    if max_iter == 0:
        W, H = init_scale * W, init_scale * H
        monitor.done(0, W, H, data.objective(W, data.XHt(H), W.T @ W, H @ H.T),
                     W @ (H @ H.T) - data.XHt(H), (W.T @ W) @ H - data.WtX(W))
        return _Fit(W, H, 0, False, monitor.history)
    # the reference of the stopping test: the projected gradient at the unshrunk factors, the
    # one every other solver measures from (its value near the saddle (0, 0) would be tiny).
    P, HHt, WtW = data.XHt(H), H @ H.T, W.T @ W
    f_ref = data.objective(W, P, WtW, HHt)
    pg_ref = float(np.sqrt(np.sum(_projected(W @ HHt - P, W) ** 2)
                           + np.sum(_projected(WtW @ H - data.WtX(W), H) ** 2)))
    monitor.pg0 = max(pg_ref, _TINY)
    param = _Remembered(k)
    cert = _Certificate(param, monitor, f_ref)
    params0 = (np.sqrt(init_scale * W), np.sqrt(init_scale * H.T))
    optimizer = "gd" if solver == "reparam-gd" else "nesterov"
    res = train(Factorization(X), param, init_scale=init_scale, params0=params0,
                optimizer=optimizer, step="armijo" if optimizer == "gd" else "auto",
                max_iter=max_iter, tol=tol, domain=cert)
    if res.info.get(CTRL_C):
        raise KeyboardInterrupt
    converged = res.status is Status.CONVERGED
    W, H, _, _ = cert.last if converged else cert.best
    return _Fit(W, H, int(res.n_iter), converged, monitor.history)


# --------------------------------------------------------------------------------------------
# the estimator


class NMF(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Non-negative matrix factorization ``X ≈ W H``, ``W, H >= 0``.

    Minimizes ``½ ‖X − W H‖_F²`` (the Frobenius objective of ``sklearn.decomposition.NMF``
    without regularization). ``fit_transform`` returns W, ``components_`` is H. See the module
    docstring for the solvers and the papers they come from.

    Parameters
    ----------
    n_components : int or None, default None
        Rank k; None keeps all features.
    init : {"random", "nndsvd", "nndsvda", "custom"} or None, default None
        None is "nndsvda" when ``n_components <= min(X.shape)``, else "random" (scikit-learn's
        rule). "custom" takes ``W`` and ``H`` from ``fit_transform``.
    solver : {"hals", "anls", "reparam-gd", "reparam-nesterov"}, default "hals"
    init_scale : float, default 1e-2
        "reparam-*" solvers only: they start from the factors of ``init`` times ``init_scale``
        (``U = √(init_scale · W0)``): the small initialization whose implicit bias the
        reparametrization relies on; ``init`` then sets only the direction. 1 starts at the
        factors of ``init`` themselves.
    tol : float, default 1e-4
        Stop when the projected-gradient norm is ``<= tol`` times its initial value.
    max_iter : int, default 200
        Outer iterations (one W and one H update each).
    random_state : int, RandomState or None
        Seeds "random" init (and the sparse SVD of "nndsvd*").
    verbose : int, default 0
        Print a progress line every 10 iterations.

    Attributes
    ----------
    components_ : ndarray (n_components, n_features)
    reconstruction_err_ : float, ``‖X − W H‖_F`` at the end of fit
    n_iter_ : int
    n_components_ : int
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.decomposition import NMF
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((30, 3)) @ rng.random((3, 20))
    >>> model = NMF(n_components=3, tol=1e-8, max_iter=2000)
    >>> W = model.fit_transform(X)
    >>> bool(model.reconstruction_err_ < 1e-3 * np.linalg.norm(X))
    True
    >>> W.shape, model.components_.shape
    ((30, 3), (3, 20))
    """

    def __init__(self, n_components=None, *, init=None, solver="hals", init_scale=INIT_SCALE,
                 tol=1e-4, max_iter=200, random_state=None, verbose=0):
        self.n_components = n_components
        self.init = init
        self.solver = solver
        self.init_scale = init_scale
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.verbose = verbose

    # scikit-learn tags (both the >= 1.6 and the older protocol)
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _more_tags(self):  # pragma: no cover - scikit-learn < 1.6
        return {"requires_positive_X": True, "preserves_dtype": [np.float64, np.float32]}

    def _check_params(self, X):
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {self.solver!r}")
        if self.init is not None and self.init not in INITS:
            raise ValueError(f"init must be None or one of {INITS}, got {self.init!r}")
        k = self.n_components
        if k is None:
            k = X.shape[1]
        elif isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"n_components must be a positive int or None, got {k!r}")
        for name in ("max_iter",):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"{name} must be a non-negative int, got {v!r}")
        if not isinstance(self.tol, (int, float, np.floating)) or not self.tol >= 0:
            raise ValueError(f"tol must be a non-negative number, got {self.tol!r}")
        s = self.init_scale
        if isinstance(s, bool) or not isinstance(s, (int, float, np.number)) \
                or not (np.isfinite(s) and s > 0):
            raise ValueError(f"init_scale must be a positive number, got {s!r}")
        return int(k)

    def _initial(self, X, k, W, H):
        init = self.init
        if init is None:
            init = "nndsvda" if k <= min(X.shape) else "random"
        m, n = X.shape
        if init == "custom":
            W = _check_factor(W, "W", (m, k))
            H = _check_factor(H, "H", (k, n))
            return W, H
        if W is not None or H is not None:
            raise ValueError("W and H are only used with init='custom'")
        if init == "random":
            rng = check_random_state(self.random_state)
            scale = np.sqrt(float(X.mean()) / k)
            W = scale * np.abs(rng.standard_normal((m, k)))
            H = scale * np.abs(rng.standard_normal((k, n)))
            return W, H
        if k > min(m, n):
            raise ValueError(f"init={init!r} needs n_components <= min(n_samples, n_features) "
                             f"= {min(m, n)}, got {k}")
        return nndsvd(X, k, fill="mean" if init == "nndsvda" else "zeros",
                      random_state=self.random_state)

    def fit_transform(self, X, y=None, W=None, H=None):
        """Learn the factorization of X and return W.

        Parameters
        ----------
        X : array_like or sparse matrix, shape (n_samples, n_features), non-negative
        y : ignored
        W, H : ndarray, optional
            Initial factors for ``init="custom"``; never modified.

        Returns
        -------
        W : ndarray, shape (n_samples, n_components), the dtype of X (float32 or float64)
        """
        X = _validate_data(self, X, accept_sparse=("csr", "csc"),
                           dtype=[np.float64, np.float32], reset=True)
        check_non_negative(X, "NMF (input X)")
        dtype = X.dtype
        k = self._check_params(X)
        W0, H0 = self._initial(X, k, W, H)
        data = NMFData(X)
        W0 = np.array(W0, dtype=np.float64)
        H0 = np.array(H0, dtype=np.float64)
        if self.solver.startswith("reparam"):
            # U = sqrt(W) cannot leave 0: start strictly inside the orthant.
            floor = 1e-6 * max(float(W0.max(initial=0.0)), float(H0.max(initial=0.0)), 1e-12)
            W0 = np.maximum(W0, floor)
            H0 = np.maximum(H0, floor)
        fit = _fit(data, W0, H0, self.solver, float(self.tol), int(self.max_iter), self.verbose,
                   init_scale=float(self.init_scale))
        # A final exact W given H: fit_transform(X) then equals transform(X) for every solver.
        W_final = self._solve_W(data, fit.H, fit.W)
        XHt = data.XHt(fit.H)
        err2 = 2 * data.objective(W_final, XHt, W_final.T @ W_final, fit.H @ fit.H.T)
        if not fit.converged and self.max_iter > 0:
            warnings.warn(f"NMF: maximum number of iterations {self.max_iter} reached before "
                          f"the projected gradient fell to tol={self.tol} times its initial "
                          "value; increase max_iter or tol.", ConvergenceWarning, stacklevel=2)
        self.components_ = fit.H.astype(dtype, copy=False)
        self.n_components_ = k
        self.n_iter_ = int(fit.n_iter)
        self.reconstruction_err_ = float(np.sqrt(err2))
        return W_final.astype(dtype, copy=False)

    def fit(self, X, y=None, **params):
        """Learn the factorization of X; returns self."""
        self.fit_transform(X, **params)
        return self

    @staticmethod
    def _solve_W(data: NMFData, H, W0=None):
        """Exact min_W ½‖X − W H‖², W >= 0: one batched NNLS with the Gram pair (H Hᵀ, H Xᵀ)."""
        G = H @ H.T
        C = np.ascontiguousarray(data.XHt(H).T)
        m = data.X.shape[0]
        x0 = np.zeros((H.shape[0], m)) if W0 is None else np.ascontiguousarray(W0.T)
        if m == 0:
            return np.zeros((0, H.shape[0]))
        return np.ascontiguousarray(_anls_half_step(x0, G, C).T)

    def transform(self, X):
        """W minimizing ``‖X − W components_‖_F`` with ``W >= 0``, exactly (active-set NNLS).

        Returns
        -------
        W : ndarray, shape (n_samples, n_components), the dtype of X
        """
        check_is_fitted(self)
        X = _validate_data(self, X, accept_sparse=("csr", "csc"),
                           dtype=[np.float64, np.float32], reset=False)
        check_non_negative(X, "NMF (input X)")
        W = self._solve_W(NMFData(X), np.asarray(self.components_, dtype=np.float64))
        return W.astype(X.dtype, copy=False)

    def inverse_transform(self, X):
        """The approximation ``W @ components_`` of the data from ``W = transform(data)``."""
        check_is_fitted(self)
        W = check_array(X, accept_sparse=("csr", "csc"), dtype=[np.float64, np.float32])
        if W.shape[1] != self.components_.shape[0]:
            raise ValueError(f"X has {W.shape[1]} columns, but the model has "
                             f"{self.components_.shape[0]} components")
        return np.asarray(W @ self.components_)

    @property
    def _n_features_out(self):
        return self.components_.shape[0]


def _check_factor(F, name, shape) -> np.ndarray:
    if F is None:
        raise ValueError(f"init='custom' needs {name} of shape {shape}")
    F = check_array(F, dtype=[np.float64, np.float32], ensure_min_samples=0,
                    ensure_min_features=0, input_name=name)
    if F.shape != shape:
        raise ValueError(f"{name} has shape {F.shape}, expected {shape}")
    check_non_negative(F, f"NMF (input {name})")
    return F

