"""Arithmetic on parameters that are an array or a tuple of arrays (``(U, V)``)."""

from __future__ import annotations

import numpy as np

from .._linalg import namespace
from ..objectives import coldot


def tmap(fn, *trees):
    """``fn`` applied leaf by leaf to arrays or tuples of arrays of the same structure."""
    if isinstance(trees[0], tuple):
        return tuple(fn(*leaves) for leaves in zip(*trees))
    return fn(*trees)


def leaves(tree) -> tuple:
    return tree if isinstance(tree, tuple) else (tree,)


def tdot(a, b, columns: bool):
    """``<a, b>``: per column for blocks (``columns``), else over every entry."""
    if columns:
        return sum(coldot(x, y) for x, y in zip(leaves(a), leaves(b)))
    if type(leaves(a)[0]) is not np.ndarray:
        return float(sum(namespace(x).sum(x * y) for x, y in zip(leaves(a), leaves(b))))
    return float(sum(np.vdot(x, y) for x, y in zip(leaves(a), leaves(b))))


def tfinite(tree) -> bool:
    return all(bool(namespace(x).all(namespace(x).isfinite(x))) for x in leaves(tree))


def copy(a):
    """A copy of an array of any library."""
    return a.copy() if isinstance(a, np.ndarray) else namespace(a).asarray(a, copy=True)


def tcopy(tree):
    return tmap(copy, tree)
