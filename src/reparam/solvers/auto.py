"""How ``method="auto"`` chooses: exact for explicit matrices, first-order for large sparse
or matrix-free ``A`` (which the exact method would have to densify)."""

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
    return "accelerated"
