"""How ``method="auto"`` chooses.

Explicit matrices that fit densified go to the exact ``active-set`` method. A large sparse
``A`` or a ``LinearOperator`` is never densified: it goes to ``fista`` (projected Nesterov with
restart), which only needs products with ``A`` and ``A^T`` and stops at ``tol`` (default 1e-6,
reported in the status and message). Among the first-order methods it is the one that reaches
a KKT tolerance fastest on such problems: on a seeded 20 000 x 10 000 sparse Gaussian problem
with 2e5 non-zeros it reached kkt 1e-6 in 102 iterations, where ``accelerated`` (multiplicative
updates, which shrink coordinates that must vanish only geometrically) had kkt 2.3e-6 after
20 000 and ``reparam-nesterov`` 4.4e-5 (``benchmarks/sparse_large.py`` measures the large case).
"""

from __future__ import annotations

from .._validation import Problem

# Dense or small sparse problems go to the exact method; beyond this many entries a sparse A
# is not densified.
_DENSIFY_LIMIT = 4_000_000


def choose(problem: Problem) -> str:
    op = problem.op
    m, n = op.shape
    if op.kind == "dense" or (op.kind == "sparse" and m * n <= _DENSIFY_LIMIT):
        return "active-set"
    return "fista"
