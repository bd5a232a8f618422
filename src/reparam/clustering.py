"""Convex clustering paths by algorithmic regularization (CARP), and their dendrogram.

Convex clustering (Hocking, Joulin, Bach & Vert 2011; Chi & Lange 2015) solves, for ``gamma > 0``,

    min_U  0.5 * ||X - U||_F^2 + gamma * sum_{(i, j) in E} w_ij * ||U_i - U_j||_2

over the centroids ``U`` (one row per point). As ``gamma`` grows the centroids fuse, from every
point on its own (``gamma = 0``) to one cluster at the mean: the *cluster path*. CARP (Weylandt,
Nagorski & Allen 2020, "Dynamic visualization and fast computation for convex clustering via
algorithmic regularization", JCGS 29(1)) follows that path with **one** ADMM step per value of
``gamma`` on a geometric grid ``gamma <- t * gamma`` instead of solving each problem to
convergence, and reads the fusions off the ADMM's split variable, which is exactly zero on a fused
edge. The fusions, merged in order, are a dendrogram in SciPy's linkage format.

ADMM (Chi & Lange 2015, Algorithm 1, with the split ``V = D U`` and the scaled dual ``Z``; ``D``
the edge-by-point incidence matrix, row ``(i, j)`` equal to ``e_i - e_j``):

    U <- (I + rho D^T D)^{-1} (X + rho D^T (V - Z))     one factorization, computed once
    V <- prox_{(gamma / rho) w ||.||}(D U + Z)           group soft-thresholding, edge by edge
    Z <- Z + D U - V

Two options of :func:`carp` act on the lag of one step per level: ``back_track`` (CARP-VIZ of
the reference implementation: a step that merges several pairs of clusters is retried with a
shorter one) and ``extrapolate`` (a first-order predictor of the next level's split variable and
multipliers on the edges between clusters, which are affine in ``gamma`` there).

The exact mode runs the same iteration to convergence at every ``gamma``: warm-started from the
level before, over-relaxed (Boyd et al. 2011, section 3.4.3), with ``rho`` adapted by residual
balancing (one factorization per value of ``rho``, kept), and stopped on the duality gap of the
better of two primal points: the objective is 1-strongly convex, so ``||U - U*||_F <=
sqrt(2 gap)``.
"""

from __future__ import annotations

import numbers
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.sparse.linalg import splu
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist, pdist

from ._result import Status

__all__ = ["ClusterPath", "ConvexClustering", "carp", "gaussian_knn_weights"]

# Bandwidths tried by the maximum-variance rule: half decades from 1e-10 to 1e10, the range of
# the reference implementation (clustRviz) at twice its resolution.
_PHI_GRID = 10.0 ** np.arange(-10.0, 10.5, 0.5)
# Above this many points the bandwidth is chosen on a seeded subsample of this size: the rule
# needs all pairwise distances (O(n^2) memory) and a few thousand points fix the variance well.
_PHI_SAMPLE = 2000
# Weights below this are raised to it. Edges between far-apart groups (added to connect the graph)
# have kernel weights that underflow; with w = 0 they would never fuse and the path would not end.
# At 1e-10 such an edge fuses within about 500 more steps at t = 1.05.
_MIN_WEIGHT = 1e-10
# The duality gap is evaluated every this many ADMM steps in the exact mode (it costs one step).
_GAP_EVERY = 10
_EARLY_CHECKS = (1, 2, 3, 5)
# Over-relaxation of the exact mode's ADMM (Boyd et al. 2011, section 3.4.3: 1.5 ... 1.8 is the
# usual range); measured on iris and wine at tol 1e-4 ... 1e-5 it saves about a third of the steps.
_RELAX = 1.6
# Most ADMM steps per level of the back-tracking CARP-VIZ: the reference implementation's
# default (clustRviz, `viz_max_inner_iter`); 15 bisections shrink a step of 5% to 1.5e-6.
_BACK_TRACK_TRIES = 15
# The predictor (``extrapolate``) is skipped when the next step is more than this many times the
# last one (after a back-tracked level): the slope of the last step is then measured over a
# short step and its error is multiplied by the ratio.
_MAX_RATIO = 2.0


def _as_data(X: Any) -> np.ndarray:
    """``X`` as a new float64 2-D array with at least two rows, or a clear error."""
    if isinstance(X, (str, bytes)) or X is None:
        raise TypeError(f"X must be a 2-D array of numbers, got {type(X).__name__}")
    if sp.issparse(X):
        X = X.toarray()
    try:
        arr = np.array(X, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"X must be a 2-D array of real numbers: {exc}") from None
    if np.iscomplexobj(np.asarray(X)):
        raise TypeError("X has complex values; expected real numbers")
    if arr.ndim != 2:
        raise ValueError(f"X has shape {arr.shape}; expected a 2-D array (points x features)")
    if arr.shape[0] < 2 or arr.shape[1] < 1:
        raise ValueError(f"X has shape {arr.shape}; expected at least 2 points and 1 feature")
    if not np.all(np.isfinite(arr)):
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"X contains {bad} non-finite value(s) (NaN or inf)")
    return arr


def _positive(name: str, value: Any, *, integer: bool = False, above_one: bool = False):
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"{name} must be {'an integer' if integer else 'a real number'}, "
                        f"got {value!r}")
    if not np.isfinite(value) or value <= (1 if above_one else 0):
        raise ValueError(f"{name} must be {'> 1' if above_one else '> 0'} and finite, "
                         f"got {value!r}")
    return int(value) if integer else float(value)


# ---------------------------------------------------------------------------------------------
# weights
# ---------------------------------------------------------------------------------------------

def _choose_phi(Xc: np.ndarray, seed: int) -> float:
    """The bandwidth of the grid that maximizes the variance of all pairwise kernel weights."""
    if Xc.shape[0] > _PHI_SAMPLE:
        rows = np.random.default_rng(seed).choice(Xc.shape[0], _PHI_SAMPLE, replace=False)
        Xc = Xc[rows]
    d2 = pdist(Xc, "sqeuclidean")
    variances = np.array([np.var(np.exp(-phi * d2)) for phi in _PHI_GRID])  # 41 values, not n
    return float(_PHI_GRID[int(np.argmax(variances))])


def _knn_edges(Xc: np.ndarray, k: int) -> np.ndarray:
    """Edges ``(i, j)``, ``i < j``, of the symmetrized k-nearest-neighbour graph."""
    n = Xc.shape[0]
    k = min(k, n - 1)
    _, nbrs = cKDTree(Xc).query(Xc, k=k + 1)
    rows = np.repeat(np.arange(n), k + 1)
    cols = nbrs.ravel()
    keep = rows != cols
    i, j = np.minimum(rows[keep], cols[keep]), np.maximum(rows[keep], cols[keep])
    return np.unique(np.stack([i, j], axis=1), axis=0)


def _connect(Xc: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Add the edges of the Euclidean minimum spanning tree when ``edges`` leave groups apart."""
    n = Xc.shape[0]
    graph = sp.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    n_comp, _ = csgraph.connected_components(graph, directed=False)
    if n_comp == 1:
        return edges
    # O(n^2) memory, only for a disconnected neighbour graph: the MST holds the shortest links
    # between the groups.
    dist = cdist(Xc, Xc)
    dist[dist == 0] = np.finfo(float).tiny  # the MST reads exact zeros as missing edges
    np.fill_diagonal(dist, 0.0)
    tree = csgraph.minimum_spanning_tree(dist).tocoo()
    extra = np.stack([np.minimum(tree.row, tree.col), np.maximum(tree.row, tree.col)], axis=1)
    return np.unique(np.concatenate([edges, extra]), axis=0)


def gaussian_knn_weights(X, n_neighbors: int = 10, phi: float | str = "auto", *,
                         center: bool = True, seed: int = 0):
    """Sparse Gaussian-kernel weights ``w_ij = exp(-phi ||x_i - x_j||^2)`` on a neighbour graph.

    The weights of Hocking et al. (2011) and Chi & Lange (2015), sparsified to the nearest
    neighbours as in the reference implementation of CARP (Weylandt et al. 2020).

    Parameters
    ----------
    X : array_like, shape (n, p)
        The points, one per row.
    n_neighbors : int, default 10
        Each point is linked to its ``n_neighbors`` nearest neighbours (the graph is symmetrized).
        Ten keeps the graph sparse (about ``10 n`` edges, so the factorization and each ADMM step
        cost O(n)) while a point is tied to enough of its own dense region that noise does not
        split it. Groups the neighbour graph leaves apart are then linked by the edges of the
        Euclidean minimum spanning tree, so the path always ends in one cluster (the reference
        implementation instead raises ``k`` until the graph is connected, which makes the graph
        dense when the clusters are well separated).
    phi : float or "auto", default "auto"
        Kernel bandwidth. ``"auto"``: the value on a half-decade grid of ``1e-10 ... 1e10`` that
        maximizes the variance of all pairwise weights,
        the rule of the reference implementation.
    center : bool, default True
        Centre the columns first (the distances do not change; kept for symmetry with
        :func:`carp`).
    seed : int, default 0
        Seed of the subsample used to choose ``phi`` when there are more than 2000 points.

    Returns
    -------
    edges : ndarray of int, shape (m, 2)
        The edges ``(i, j)`` with ``i < j``.
    weights : ndarray, shape (m,)
        Their weights, in ``[1e-10, 1]``.
    phi : float
        The bandwidth used.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.clustering import gaussian_knn_weights
    >>> X = np.array([[0.0], [1.0], [3.0]])
    >>> edges, w, phi = gaussian_knn_weights(X, n_neighbors=1, phi=1.0)
    >>> edges.tolist(), np.round(w, 4).tolist()
    ([[0, 1], [1, 2]], [0.3679, 0.0183])
    """
    Xc = _as_data(X)
    if center:
        Xc -= Xc.mean(axis=0)
    n_neighbors = _positive("n_neighbors", n_neighbors, integer=True)
    if isinstance(phi, str):
        if phi != "auto":
            raise ValueError(f"phi must be a positive number or 'auto', got {phi!r}")
        phi = _choose_phi(Xc, seed)
    else:
        phi = _positive("phi", phi)
    edges = _connect(Xc, _knn_edges(Xc, n_neighbors))
    d2 = np.sum((Xc[edges[:, 0]] - Xc[edges[:, 1]]) ** 2, axis=1)
    weights = np.maximum(np.exp(-phi * d2), _MIN_WEIGHT)
    return edges, weights, float(phi)


# ---------------------------------------------------------------------------------------------
# the path
# ---------------------------------------------------------------------------------------------

@dataclass
class ClusterPath:
    """A convex clustering path: centroids, fusions and dendrogram along a grid of ``gamma``.

    Attributes
    ----------
    gammas : ndarray, shape (s,)
        The regularization levels, increasing.
    centroids : ndarray, shape (s, n, p)
        ``U(gamma)`` at each level, in the coordinates of the input (the column means added back);
        CARP's fused groups share their mean (see ``smooth`` in :func:`carp`).
    n_clusters : ndarray of int, shape (s,)
        Number of clusters (connected groups of fused edges) at each level.
    edges, weights : ndarray
        The weight graph: ``(m, 2)`` edges and their ``(m,)`` weights.
    fusion_step : ndarray of int, shape (m,)
        First step at which each edge was fused (``-1``: never).
    fusions : ndarray of int, shape (f, 3)
        The fusion events that merged two clusters, in order: ``(step, i, j)``.
    merges : ndarray of int, shape (n - 1, 2)
        The point pairs whose fusions build ``linkage``, row by row (the fusions, then the
        merges the path did not reach).
    linkage : ndarray, shape (n - 1, 4)
        The dendrogram in SciPy's format (heights: the ``gamma`` of each fusion); merges that the
        path did not reach are appended at the height ``gammas[-1] * step`` (see ``status``).
    status : Status
        ``CONVERGED``: every point fused (and, in the exact mode, every level solved to ``tol``);
        ``MAX_ITER`` otherwise (see ``message``).
    message : str
        What happened.
    method : str
        ``"carp"`` or ``"exact"``.
    n_iter : int
        ADMM steps taken in all (burn-in included).
    phi : float
        Kernel bandwidth of the weights (nan when the weights were given).
    time : float
        Wall-clock seconds of the path (weights excluded).
    max_gap_bound : float
        Exact mode: the largest ``sqrt(2 gap) / ||X_c||_F`` over the levels, a bound on the
        relative distance to the exact centroids (nan for CARP).
    """

    gammas: np.ndarray
    centroids: np.ndarray
    n_clusters: np.ndarray
    edges: np.ndarray
    weights: np.ndarray
    fusion_step: np.ndarray
    fusions: np.ndarray
    merges: np.ndarray
    linkage: np.ndarray
    status: Status
    message: str
    method: str
    n_iter: int
    phi: float = float("nan")
    time: float = 0.0
    max_gap_bound: float = float("nan")

    @property
    def n_points(self) -> int:
        return self.centroids.shape[1]

    def labels(self, n_clusters: int) -> np.ndarray:
        """Cut the dendrogram into ``n_clusters`` groups; labels ``0 ...`` by first point.

        Ties (several fusions at one ``gamma``) are broken in the order of the linkage, so the
        cut always has exactly ``n_clusters`` groups.

        Examples
        --------
        >>> import numpy as np
        >>> from reparam.clustering import carp
        >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
        >>> carp(X).labels(2).tolist()
        [0, 0, 1, 1]
        """
        n = self.n_points
        n_clusters = _positive("n_clusters", n_clusters, integer=True)
        if n_clusters > n:
            raise ValueError(f"n_clusters is {n_clusters}, but there are only {n} points")
        return _components(n, self.merges[: n - n_clusters])

    def labels_at(self, gamma: float) -> np.ndarray:
        """The clusters of the path at the fusion level ``gamma`` (the last grid level <= gamma).

        Examples
        --------
        >>> import numpy as np
        >>> from reparam.clustering import carp
        >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
        >>> path = carp(X)
        >>> path.labels_at(path.gammas[0]).tolist(), path.labels_at(np.inf).tolist()
        ([0, 1, 2, 3], [0, 0, 0, 0])
        """
        gamma = float(gamma)
        if not gamma >= 0:
            raise ValueError(f"gamma must be >= 0, got {gamma!r}")
        step = int(np.searchsorted(self.gammas, gamma, side="right")) - 1
        fused = (self.fusion_step >= 0) & (self.fusion_step <= step)
        return _components(self.n_points, self.edges[fused])


def _components(n: int, pairs: np.ndarray) -> np.ndarray:
    """Connected components of the graph on ``n`` points with the edges ``pairs``."""
    pairs = np.asarray(pairs, dtype=np.intp).reshape(-1, 2)
    graph = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = csgraph.connected_components(graph, directed=False)
    return labels


def _smooth(centroids: list[np.ndarray], fusions: np.ndarray) -> None:
    """Each fused group's centroids replaced by their mean, level by level, in place.

    ``fusions`` are the ``(step, i, j)`` merges in order (see :func:`_dendrogram`): the groups at
    level ``s`` are those of the merges made up to ``s``, the clusters of ``n_clusters`` and
    ``labels_at``. The mean keeps each group's sum and only removes the spread inside it. The
    averaging operator is rebuilt only when the groups change, and each level is overwritten in
    place: temporaries the size of the whole path (several per feature) cost more than the
    ADMM steps on breast cancer, where fresh memory is slow to map.
    """
    n = centroids[0].shape[0]
    labels = np.arange(n)
    k, average, compact = 0, None, None
    for s, U in enumerate(centroids):
        changed = False
        while k < len(fusions) and fusions[k, 0] <= s:
            a, b = labels[fusions[k, 1]], labels[fusions[k, 2]]
            labels[labels == b] = a
            k += 1
            changed = True
        if k == 0:
            continue  # every point on its own
        if changed:
            _, compact = np.unique(labels, return_inverse=True)
            counts = np.bincount(compact)
            average = sp.csr_matrix((1.0 / counts[compact], (compact, np.arange(n))),
                                    shape=(len(counts), n))
        np.take(average @ U, compact, axis=0, out=U)


def _dendrogram(n: int, edges: np.ndarray, fusion_step: np.ndarray, gammas: np.ndarray,
                final_height: float):
    """Kruskal on the edges ordered by fusion step: the fusion events and the SciPy linkage.

    The edges never fused are ordered after the others and merged at ``final_height``.
    Returns ``(fusions, pairs, linkage)``.
    """
    order_key = np.where(fusion_step >= 0, fusion_step, np.iinfo(np.int64).max)
    # The minimum spanning forest of the edges weighted by (fusion order + 1) is the set of
    # fusions that merge two clusters; ranks keep the weights positive and distinct.
    rank = np.empty(len(edges), dtype=float)
    order = np.argsort(order_key, kind="stable")
    rank[order] = np.arange(1, len(edges) + 1)
    graph = sp.coo_matrix((rank, (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()
    tree = csgraph.minimum_spanning_tree(graph).tocoo()
    tree_order = np.argsort(tree.data, kind="stable")
    picked = order[(tree.data[tree_order] - 1).astype(np.intp)]
    pairs = edges[picked]
    steps = fusion_step[picked]
    heights = np.where(steps >= 0, gammas[np.maximum(steps, 0)], final_height)
    fused = steps >= 0
    fusions = np.column_stack([steps[fused], pairs[fused]]).astype(np.int64)
    # Union-find over the n - 1 merges of the tree (once per path, not per step): the cluster
    # ids SciPy's format wants.
    parent = np.arange(2 * n - 1)
    size = np.ones(2 * n - 1)

    def find(a: int) -> int:
        root = a
        while parent[root] != root:
            root = parent[root]
        while parent[a] != root:
            parent[a], a = root, parent[a]
        return root

    linkage = np.empty((len(pairs), 4))
    for r, (i, j) in enumerate(pairs):
        a, b = find(int(i)), find(int(j))
        new = n + r
        parent[a] = parent[b] = new
        size[new] = size[a] + size[b]
        linkage[r] = (min(a, b), max(a, b), heights[r], size[new])
    return fusions, pairs, linkage


@dataclass
class _Admm:
    """The ADMM state and its operators.

    CARP keeps ``rho`` and the factorization of ``I + rho D^T D`` fixed and takes plain steps
    (``relax = 1``). The exact mode balances ``rho`` by powers of two, keeping every
    factorization it made (a path revisits the same few values), and over-relaxes.
    """

    Xc: np.ndarray
    edges: np.ndarray
    weights: np.ndarray
    rho: float
    relax: float = 1.0

    def __post_init__(self):
        n, m = self.Xc.shape[0], len(self.edges)
        rows = np.repeat(np.arange(m), 2)
        data = np.tile([1.0, -1.0], m)
        self.D = sp.csr_matrix((data, (rows, self.edges.ravel())), shape=(m, n))
        self.Dt = self.D.T.tocsr()
        self.heads, self.tails = self.edges[:, 0].copy(), self.edges[:, 1].copy()
        self._solvers: dict[float, Any] = {}
        self._factorize()
        self.U = self.Xc.copy()
        self.V = self.D @ self.Xc
        self.V_prev = self.V
        self.Z = np.zeros_like(self.V)
        self.fused = np.zeros(m, dtype=bool)

    def _factorize(self) -> None:
        if self.rho not in self._solvers:
            n = self.Xc.shape[0]
            system = (sp.identity(n, format="csc") + self.rho * (self.Dt @ self.D)).tocsc()
            # I + rho D^T D is symmetric and strictly diagonally dominant, so LU needs no
            # pivoting and can keep the symmetric ordering: measured 1.7x (breast cancer) and
            # 2.2x (1000 points) faster solves than SuperLU's partial pivoting, same result to
            # 1e-15
            self._solvers[self.rho] = splu(system, permc_spec="MMD_AT_PLUS_A",
                                           diag_pivot_thresh=0.0,
                                           options={"SymmetricMode": True}).solve
        self.solve = self._solvers[self.rho]

    def balance(self) -> None:
        """Residual balancing (Boyd et al. 2011, section 3.4.1), for the exact mode only.

        With a fixed ``rho`` the fused part of the problem converges at the rate of the graph's
        algebraic connectivity, which is tiny when groups hang together by a few edges; changing
        ``rho`` when one residual is 10x the other costs one sparse factorization the first time
        a value is used.
        """
        primal = np.linalg.norm(self.diff(self.U) - self.V)
        dual = self.rho * np.linalg.norm(self.Dt @ (self.V - self.V_prev))
        if primal > 10 * dual:
            factor = 2.0
        elif dual > 10 * primal:
            factor = 0.5
        else:
            return
        self.Z *= 1.0 / factor  # the unscaled multiplier rho * Z is unchanged
        self.rho *= factor
        self._factorize()

    def diff(self, U: np.ndarray) -> np.ndarray:
        """``D U``: one row ``U_i - U_j`` per edge (two gathers, 2-3x faster than the sparse
        product on iris and on 1000 points)."""
        return np.take(U, self.heads, axis=0) - np.take(U, self.tails, axis=0)

    def step(self, gamma: float) -> None:
        """One ADMM step at ``gamma`` (Chi & Lange 2015, Algorithm 1; over-relaxed by
        ``relax`` as in Boyd et al. 2011, section 3.4.3)."""
        self.V_prev = self.V
        self.U = self.solve(self.Xc + self.rho * (self.Dt @ (self.V - self.Z)))
        DU = self.diff(self.U)
        if self.relax != 1.0:
            DU = self.relax * DU + (1.0 - self.relax) * self.V
        Y = DU
        Y += self.Z
        # group soft-thresholding, in place: shrink = max(0, 1 - threshold / ||Y_l||)
        shrink = np.einsum("ij,ij->i", Y, Y)
        np.sqrt(shrink, out=shrink)
        with np.errstate(divide="ignore"):
            np.divide(self.weights, shrink, out=shrink)  # a zero row gives inf, then shrink 0
        shrink *= -gamma / self.rho
        shrink += 1.0
        self.fused = shrink <= 0.0
        shrink[self.fused] = 0.0
        self.V = shrink[:, None] * Y
        # Y - V is the projection of Y on the balls of radius gamma w / rho (Moreau), so rho Z
        # is dual feasible after every step, relaxed or not.
        self.Z = Y - self.V

    def extrapolate(self, previous: tuple, ratio: float) -> None:
        """Move ``V`` and ``Z`` of the edges apart at this level and the one before along their
        change over the last level, ``ratio`` times it: the first-order predictor of the next
        level's split and multipliers. On such an edge the exact multiplier is ``gamma w`` times
        a unit vector, affine in ``gamma``, and the V-step projects ``Z`` back on its ball, so
        the prediction can not run away. Fused edges are left as they are: inside a cluster the
        multipliers are affine in ``gamma`` too, but ADMM corrects their slow modes by less than
        the extrapolation amplifies them (measured: the iterate diverges on breast cancer)."""
        V_old, Z_old = previous
        apart = ~self.fused & np.any(V_old, axis=1)
        self.Z = self.Z + ratio * np.where(apart[:, None], self.Z - Z_old, 0.0)
        self.V = self.V + ratio * np.where(apart[:, None], self.V - V_old, 0.0)

    def snapshot(self) -> tuple:
        """The iterate, for a retry from here (``step`` replaces the arrays, never writes in
        them, so references suffice)."""
        return self.U, self.V, self.V_prev, self.Z, self.fused

    def restore(self, state: tuple) -> None:
        self.U, self.V, self.V_prev, self.Z, self.fused = state

    def _primal(self, U: np.ndarray, gamma: float) -> float:
        DU = self.diff(U)
        return 0.5 * float(np.sum((self.Xc - U) ** 2)) + gamma * float(
            self.weights @ np.sqrt(np.einsum("ij,ij->i", DU, DU)))

    def certify(self, gamma: float) -> float:
        """Duality gap at the best of two primal points, which becomes ``U``.

        The dual point is ``rho Z`` (inside the balls ``||lam_l|| <= gamma w_l``); the primal
        candidates are ADMM's ``U`` and ``X_c - D^T lam``, the primal point the dual maps to,
        which is the more accurate one once the fused edges are right. The objective is
        1-strongly convex, so ``||U - U*||_F <= sqrt(2 gap)``.
        """
        lam = self.rho * self.Z
        # the dual ball constraint holds up to rounding; project to be safe
        norms = np.sqrt(np.einsum("ij,ij->i", lam, lam))
        radius = gamma * self.weights
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(norms > radius, radius / norms, 1.0)
        DtL = self.Dt @ (scale[:, None] * lam)
        dual = float(np.sum(DtL * self.Xc)) - 0.5 * float(np.sum(DtL * DtL))
        candidate = self.Xc - DtL
        p_admm, p_dual = self._primal(self.U, gamma), self._primal(candidate, gamma)
        if p_dual < p_admm:
            self.U = candidate
        return max(min(p_admm, p_dual) - dual, 0.0)


class _Fusions:
    """The fusions declared along a path: each edge's first level with ``V`` zero (the fusion
    CARP reads off the split variable), and the clusters (connected groups) they make."""

    def __init__(self, n: int, edges: np.ndarray):
        self.heads, self.tails = edges[:, 0], edges[:, 1]
        self.labels = np.arange(n)  # cluster of each point: the smallest point index in it
        self.fusion_step = np.full(len(edges), -1, dtype=np.int64)
        self.n_clusters = n

    def snapshot(self) -> tuple:
        return self.labels.copy(), self.fusion_step.copy(), self.n_clusters

    def restore(self, state: tuple) -> None:
        labels, fusion_step, self.n_clusters = state
        self.labels, self.fusion_step = labels.copy(), fusion_step.copy()

    def update(self, fused: np.ndarray, level: int) -> int:
        """Record the edges fused first at ``level``; returns how many pairs of clusters they
        merged (an edge inside a cluster merges none)."""
        newly = np.flatnonzero(fused & (self.fusion_step < 0))
        self.fusion_step[newly] = level
        merges = 0
        for e in newly:
            a, b = self.labels[self.heads[e]], self.labels[self.tails[e]]
            if a != b:
                self.labels[self.labels == max(a, b)] = min(a, b)  # O(n), n - 1 times a path
                merges += 1
        self.n_clusters -= merges
        return merges


def carp(X, *, method: str = "carp", n_neighbors: int = 10, phi: float | str = "auto",
         weights: tuple[np.ndarray, np.ndarray] | None = None, gamma_start: float = 1e-6,
         step: float = 1.05, burn_in: int = 50, rho: float = 1.0, max_steps: int = 5000,
         gammas=None, tol: float = 1e-5, max_iter: int = 10_000, smooth: bool = True,
         back_track: bool = False, extrapolate: bool = False,
         seed: int = 0) -> ClusterPath:
    """The convex clustering path of ``X`` by CARP, or solved exactly on the same kind of grid.

    CARP (Weylandt, Nagorski & Allen 2020, Algorithm 2) with the defaults of its reference
    implementation: centred columns; Gaussian-kernel weights on a nearest-neighbour graph
    (:func:`gaussian_knn_weights`); ADMM with ``rho = 1`` and one sparse LU factorization of
    ``I + rho D^T D``; ``burn_in`` steps at ``gamma_start``, then one ADMM step per level with
    ``gamma <- step * gamma`` until every edge is fused (at most ``max_steps`` levels).

    Parameters
    ----------
    X : array_like, shape (n, p)
        The points, one per row. Not modified.
    method : {"carp", "exact"}, default "carp"
        ``"exact"``: at every level, ADMM warm-started from the previous level (over-relaxed,
        ``rho`` balanced) runs until the duality gap certifies ``||U - U*||_F <= tol *
        ||X_c||_F`` (or ``max_iter`` steps); ``path.max_gap_bound`` is the worst certified
        ``||U - U*||_F / ||X_c||_F`` over the levels.
    n_neighbors, phi, seed
        The weights, see :func:`gaussian_knn_weights`. Ignored when ``weights`` is given.
    weights : (edges, weights), optional
        Your own graph: ``(m, 2)`` integer edges and ``(m,)`` positive weights; it must connect
        every point for the path to end in one cluster.
    gamma_start : float, default 1e-6
        First level.
    step : float, default 1.05
        Ratio ``t > 1`` between two levels.
    burn_in : int, default 50
        ADMM steps at ``gamma_start`` before the path starts (CARP only).
    rho : float, default 1.0
        ADMM penalty (CARP keeps it; the exact mode starts from it and balances the residuals).
    max_steps : int, default 5000
        Most levels; the path stops there with ``Status.MAX_ITER`` if points are still apart.
    gammas : array_like, optional
        An increasing grid to use instead of the geometric one (all of it is run; ``step`` is
        then only used for the height of merges the grid did not reach).
    tol : float, default 1e-5
        Exact mode: relative accuracy of each level's centroids (see ``method``). The gap is a
        difference of two numbers of size ``||X_c||^2``, so in float64 it resolves this bound
        down to about 1e-7; smaller values end in ``MAX_ITER``.
    max_iter : int, default 10000
        Exact mode: most ADMM steps per level.
    smooth : bool, default True
        CARP: report each fused group's centroids as their mean (the ``smooth_U`` post-processing
        of the reference implementation). One ADMM step per level leaves the centroids of a
        fused group apart: the multipliers of its edges must carry the pull of the edges that
        leave the group, a pull that grows with ``gamma``, and they lag one step behind it, so the
        spread inside the group grows like ``(step - 1) gamma w / rho``; the exact path keeps a
        fused group at one point. The mean keeps the group's sum. The same lag pulls the end
        points of the last edges between large groups together, so CARP declares the last
        fusions some levels before the exact path makes them (iris, ``step = 1.05``: the last
        one at ``gamma`` 107 instead of 316), and from there the merged groups are reported at
        their common mean. ``False``: the ADMM iterate ``U`` itself. Ignored by the exact mode.
    back_track : bool, default False
        CARP-VIZ, the back-tracking variant of the reference implementation (its
        ``back_track``, off by default there too): a step that merges more than one pair of
        clusters is undone and retried at the midpoint between the last level and the one tried,
        bisecting (at most 15 tries, the reference's ``viz_max_inner_iter``) until it merges one
        pair, so the levels are ``step`` apart only where nothing merges. Unlike the reference,
        which switches from ``t = 1.1`` to ``1.01`` at the first fusion, the trial ratio stays
        ``step``. Merges that one ADMM step makes together even for a tiny step stay together, and
        the early fusions (see ``smooth``) are not undone: measured, it halves the levels with tied
        merges but leaves the path error and the cophenetic correlation about where they were
        (``benchmarks/carp_vs_exact.py``). Not with ``gammas``.
    extrapolate : bool, default False
        Before each step, move the split variable and the multipliers of the edges that are
        apart (not fused at this level nor the one before) along their change over the last
        level, scaled by the ratio of the two steps: a first-order predictor, as in
        path-following continuation. On such an edge the exact multiplier is ``gamma w`` times a
        unit vector, affine in ``gamma``, so the predictor removes the lag that fuses edges
        early (see ``smooth``); the V-step projects the prediction back on the dual ball, so it
        can not run away. Measured (``benchmarks/carp_vs_exact.py``, ``step = 1.05``): the
        median path error falls 10-300 times, the cophenetic correlation of wine rises from
        0.953 to 0.996, but the maximum error stays above ``1e-2``: fusions between large
        groups still come early, now from the spread inside the fused groups, whose multipliers
        are not predicted (predicting them too diverges on breast cancer: ADMM damps their slow
        modes by less than the extrapolation amplifies them). Not the reference
        implementation's; skipped after a step shorter than half the next one (after a
        back-tracked level).

    Returns
    -------
    ClusterPath
        Centroid path, fusions, dendrogram (``path.linkage``) and ``path.labels(k)``.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.cluster.hierarchy import is_valid_linkage
    >>> from reparam.clustering import carp
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 0.1, (10, 2)), rng.normal(3, 0.1, (10, 2))])
    >>> path = carp(X)
    >>> path.status.name, is_valid_linkage(path.linkage)
    ('CONVERGED', True)
    >>> path.labels(2).tolist() == [0] * 10 + [1] * 10
    True
    """
    X = _as_data(X)
    if method not in ("carp", "exact"):
        raise ValueError(f"method must be 'carp' or 'exact', got {method!r}")
    for name, flag in (("back_track", back_track), ("extrapolate", extrapolate)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {flag!r}")
    step = _positive("step", step, above_one=True)
    rho = _positive("rho", rho)
    tol = _positive("tol", tol)
    max_iter = _positive("max_iter", max_iter, integer=True)
    if isinstance(burn_in, bool) or not isinstance(burn_in, numbers.Integral) or burn_in < 0:
        raise ValueError(f"burn_in must be an integer >= 0, got {burn_in!r}")
    n = X.shape[0]
    mean = X.mean(axis=0)
    Xc = X - mean
    if weights is None:
        edges, w, phi_used = gaussian_knn_weights(Xc, n_neighbors, phi, center=False, seed=seed)
    else:
        edges, w = _check_weights(weights, n)
        phi_used = float("nan")
    if gammas is None:
        gamma_start = _positive("gamma_start", gamma_start)
        max_steps = _positive("max_steps", max_steps, integer=True)
        grid = None
    else:
        grid = np.array(gammas, dtype=np.float64).ravel()
        if grid.size == 0 or not np.all(np.isfinite(grid)) or grid[0] <= 0 or np.any(
                np.diff(grid) <= 0):
            raise ValueError("gammas must be a non-empty, strictly increasing grid of positive "
                             "finite numbers")
        max_steps = grid.size
        gamma_start = float(grid[0])
        if back_track:
            raise ValueError("back_track places its own levels; it can not be used with gammas")

    t0 = time.perf_counter()
    admm = _Admm(Xc, edges, w, rho, relax=1.0 if method == "carp" else _RELAX)
    scale = max(np.linalg.norm(Xc), np.finfo(float).tiny)
    declared = _Fusions(n, edges)
    levels, centroids = [], []
    n_iter, worst_gap, unsolved = 0, 0.0, 0
    gamma = gamma_start
    if method == "carp":
        for _ in range(burn_in):
            admm.step(gamma)
        n_iter += burn_in
    previous = None  # (V, Z) after the level before the last one: the predictor's other point

    def advance(target: float) -> None:
        """One CARP step from the last level to ``target``."""
        if extrapolate and previous is not None:
            ratio = (target - levels[-1]) / (levels[-1] - levels[-2])
            if ratio <= _MAX_RATIO:  # a slope measured over a much shorter step is noise
                admm.extrapolate(previous, ratio)
        admm.step(target)

    for s in range(max_steps):
        if grid is not None:
            gamma = float(grid[s])
        elif s > 0:
            gamma *= step
        last = (admm.V, admm.Z)
        if method == "carp" and back_track and s > 0:
            gamma, used = _back_track(admm, declared, advance, levels[-1], gamma, s)
            n_iter += used
        elif method == "carp":
            advance(gamma)
            declared.update(admm.fused, s)
            n_iter += 1
        else:
            done, used, gap = _solve_level(admm, gamma, tol * scale, max_iter)
            declared.update(admm.fused, s)
            n_iter += used
            bound = np.sqrt(2.0 * gap) / scale
            worst_gap = max(worst_gap, bound)
            unsolved += not done
        levels.append(gamma)
        centroids.append(admm.U)  # the mean is added once, below
        previous = last if s > 0 else None
        if grid is None and np.all(admm.fused):
            break
    fusion_step = declared.fusion_step
    elapsed = time.perf_counter() - t0

    gammas_out = np.array(levels)
    all_fused = _components(n, edges[fusion_step >= 0]).max() == 0
    fusions, pairs, linkage = _dendrogram(n, edges, fusion_step, gammas_out,
                                          gammas_out[-1] * step)
    n_clusters = n - np.searchsorted(np.sort(fusions[:, 0]), np.arange(len(levels)),
                                     side="right")
    if method == "exact" and unsolved:
        status = Status.MAX_ITER
        message = (f"{unsolved} of {len(levels)} levels did not reach tol={tol:g} in "
                   f"max_iter={max_iter} ADMM steps (worst bound {worst_gap:.2e}); raise "
                   "max_iter or tol")
    elif not all_fused:
        status = Status.MAX_ITER
        message = (f"stopped after {len(levels)} levels (gamma = {gammas_out[-1]:.3g}) with "
                   f"{n_clusters[-1]} clusters left; the remaining merges are placed at height "
                   f"{gammas_out[-1] * step:.3g}. Raise max_steps or step, or use a connected "
                   "weight graph")
    else:
        status = Status.CONVERGED
        message = f"every point fused after {len(levels)} levels ({n_iter} ADMM steps)"
    if method == "carp" and smooth:
        _smooth(centroids, fusions)  # each level's U is its own array, no longer ADMM's
    centroids = np.array(centroids)
    centroids += mean
    path = ClusterPath(
        gammas=gammas_out, centroids=centroids, n_clusters=n_clusters, edges=edges,
        weights=w, fusion_step=fusion_step, fusions=fusions, merges=pairs, linkage=linkage, status=status,
        message=message, method=method, n_iter=n_iter, phi=phi_used, time=elapsed,
        max_gap_bound=worst_gap if method == "exact" else float("nan"))
    return path


def _back_track(admm: _Admm, declared: _Fusions, advance, lower: float, upper: float,
                level: int) -> tuple[float, int]:
    """One level of CARP-VIZ (Weylandt, Nagorski & Allen 2020): one ADMM step to
    ``upper``; if it merges more than one pair of clusters, back to the level before and retry
    at the midpoint of ``(lower, upper)``, bisecting until a step merges exactly one pair (or
    none on the first try). After ``_BACK_TRACK_TRIES`` tries the last one is kept: merges at
    the very same level (ties) can not be separated. Returns ``(gamma, ADMM steps used)``."""
    admm_state, declared_state = admm.snapshot(), declared.snapshot()
    gamma = upper
    for tries in range(1, _BACK_TRACK_TRIES + 1):
        if tries > 1:
            admm.restore(admm_state)
            declared.restore(declared_state)
        advance(gamma)
        merges = declared.update(admm.fused, level)
        if merges == 1 or (merges == 0 and tries == 1):
            break
        if merges > 1:
            upper = gamma
        else:
            lower = gamma
        if tries < _BACK_TRACK_TRIES:
            gamma = 0.5 * (lower + upper)
    return gamma, tries


def _solve_level(admm: _Admm, gamma: float, abs_tol: float,
                 max_iter: int) -> tuple[bool, int, float]:
    """ADMM at one level until ``sqrt(2 gap) <= abs_tol``; returns (reached, steps used, gap).

    The gap is checked after steps 1, 2, 3, 5 and then every ``_GAP_EVERY`` steps: a warm
    start along a fine grid often needs only a few steps, and a reference that always took ten
    would make CARP's one step look better than it is.
    """
    gap = np.inf
    for k in range(1, max_iter + 1):
        admm.step(gamma)
        if k in _EARLY_CHECKS or k % _GAP_EVERY == 0 or k == max_iter:
            admm.balance()  # rho Z, the dual point, is unchanged by it
            gap = admm.certify(gamma)
            if 2.0 * gap <= abs_tol**2:
                return True, k, gap
    return False, max_iter, gap


def _check_weights(weights, n: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        edges, w = weights
    except (TypeError, ValueError):
        raise TypeError("weights must be a pair (edges, weights)") from None
    edges = np.array(edges)
    w = np.array(w, dtype=np.float64).ravel()
    if edges.ndim != 2 or edges.shape[1] != 2 or edges.shape[0] == 0:
        raise ValueError(f"weights: edges have shape {edges.shape}; expected (m, 2) with m >= 1")
    if edges.dtype.kind not in "iu" or edges.min() < 0 or edges.max() >= n:
        raise ValueError(f"weights: edges must be integer point indices in [0, {n})")
    if np.any(edges[:, 0] == edges[:, 1]):
        raise ValueError("weights: an edge links a point to itself")
    if w.shape != (edges.shape[0],) or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError(f"weights: expected {edges.shape[0]} positive finite weights, got "
                         f"shape {w.shape}")
    return edges.astype(np.intp), w


class ConvexClustering:
    """Convex clustering with a scikit-learn interface (``fit``, ``labels_``, ``fit_predict``).

    Computes the whole path with :func:`carp` and cuts it at ``n_clusters`` groups or at the
    fusion level ``gamma`` (Weylandt, Nagorski & Allen 2020).

    Parameters
    ----------
    n_clusters : int or None, default 2
        Number of clusters of the cut. Set it to None to cut at ``gamma`` instead.
    gamma : float or None, default None
        Fusion level of the cut (only with ``n_clusters=None``).
    method : {"carp", "exact"}, default "carp"
    n_neighbors, phi, step, burn_in, rho, max_steps, back_track, extrapolate, seed
        Passed to :func:`carp`.

    Attributes
    ----------
    path_ : ClusterPath
    labels_ : ndarray of int, shape (n,)
    n_clusters_ : int
    linkage_ : ndarray, shape (n - 1, 4)
    cluster_centers_ : ndarray, shape (n_clusters_, p)
        Mean of the points of each cluster (the centroid every point of it tends to).

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.clustering import ConvexClustering
    >>> X = np.array([[0.0, 0.0], [0.2, 0.1], [4.0, 4.0], [4.1, 3.9], [9.0, 0.0], [9.1, 0.2]])
    >>> ConvexClustering(n_clusters=3).fit(X).labels_.tolist()
    [0, 0, 1, 1, 2, 2]
    """

    def __init__(self, n_clusters: int | None = 2, *, gamma: float | None = None,
                 method: str = "carp", n_neighbors: int = 10, phi: float | str = "auto",
                 step: float = 1.05, burn_in: int = 50, rho: float = 1.0,
                 max_steps: int = 5000, back_track: bool = False, extrapolate: bool = False,
                 seed: int = 0):
        self.n_clusters = n_clusters
        self.gamma = gamma
        self.method = method
        self.n_neighbors = n_neighbors
        self.phi = phi
        self.step = step
        self.burn_in = burn_in
        self.rho = rho
        self.max_steps = max_steps
        self.back_track = back_track
        self.extrapolate = extrapolate
        self.seed = seed

    _PARAMS = ("n_clusters", "gamma", "method", "n_neighbors", "phi", "step", "burn_in", "rho",
               "max_steps", "back_track", "extrapolate", "seed")

    def get_params(self, deep: bool = True) -> dict:
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params) -> ConvexClustering:
        for name, value in params.items():
            if name not in self._PARAMS:
                raise ValueError(f"unknown parameter {name!r}; expected one of {self._PARAMS}")
            setattr(self, name, value)
        return self

    def fit(self, X, y=None) -> ConvexClustering:
        if (self.n_clusters is None) == (self.gamma is None):
            raise ValueError("give exactly one of n_clusters and gamma (set the other to None); "
                             f"got n_clusters={self.n_clusters!r}, gamma={self.gamma!r}")
        X = _as_data(X)
        self.path_ = carp(X, method=self.method, n_neighbors=self.n_neighbors, phi=self.phi,
                          step=self.step, burn_in=self.burn_in, rho=self.rho,
                          max_steps=self.max_steps, back_track=self.back_track,
                          extrapolate=self.extrapolate, seed=self.seed)
        if self.n_clusters is not None:
            self.labels_ = self.path_.labels(self.n_clusters)
        else:
            self.labels_ = self.path_.labels_at(_positive("gamma", self.gamma))
        self.n_clusters_ = int(self.labels_.max()) + 1
        self.linkage_ = self.path_.linkage
        counts = np.bincount(self.labels_)
        centers = np.zeros((self.n_clusters_, X.shape[1]))
        np.add.at(centers, self.labels_, X)
        self.cluster_centers_ = centers / counts[:, None]
        return self

    def fit_predict(self, X, y=None) -> np.ndarray:
        return self.fit(X).labels_
