"""The record of which path of :func:`~reparam.solvers.active_set.active_set_nnls` ran and
why each earlier one was left.

The paths report how they stopped as an :class:`Exit` (a :class:`Reason` plus the text that
goes into the message); the front decides what to try next from the reason, never from the
text, and keeps the attempts in order in :attr:`ActiveSetOutput.trail`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

__all__ = ["ActiveSetOutput", "Attempt", "Exit", "Path", "Reason"]


class Path(str, Enum):
    """A path of the active-set solver (its value is the name used in ``ActiveSetOutput.path``)."""

    WORKING_SET = "working-set"
    BLOCK_PIVOTING = "block-pivoting"
    LAWSON_HANSON_GRAM = "lawson-hanson-gram"
    LAWSON_HANSON_QR = "lawson-hanson-qr"
    COMPRESSED = "compressed"  # numerically low-rank A: Lawson-Hanson on B^T A, certified on A
    SCIPY = "scipy"
    COLUMNS = "columns"  # many right-hand sides: some columns finished one at a time


class Reason(Enum):
    """How a path stopped."""

    CERTIFIED = "certified"  # KKT residual within the acceptance bound
    CHOLESKY_FAILED = "cholesky failed"  # a Gram block is not positive definite
    SMALL_PIVOT = "small pivot"  # a Gram block is too ill-conditioned to trust
    KKT_ABOVE_BOUND = "kkt above bound"  # finished, but the KKT residual is above the bound
    ITERATION_CAP = "iteration cap"
    FINISHED = "finished"  # scipy.optimize.nnls ran to its own stopping rule
    DEPENDENT_SAMPLE = "dependent sample"  # skipped: a column sample is numerically dependent
    DEPENDENT_NEIGHBOURS = "dependent neighbours"  # skipped: adjacent columns nearly parallel
    COLUMNS_LEFT = "columns left"  # many right-hand sides: some columns not certified
    ROUND_BUDGET = "round budget"  # handed over after the rounds it was given

    @property
    def ill_conditioned(self) -> bool:
        """Whether the path stopped on a Gram block it could not factor reliably."""
        return self in (Reason.CHOLESKY_FAILED, Reason.SMALL_PIVOT)


@dataclass(frozen=True)
class Exit:
    """How a path stopped: ``reason`` for the code, ``text`` for the message."""

    reason: Reason
    text: str = ""

    @property
    def certified(self) -> bool:
        return self.reason is Reason.CERTIFIED

    def __str__(self) -> str:
        return self.text


CERTIFIED = Exit(Reason.CERTIFIED)
ITERATION_CAP = Exit(Reason.ITERATION_CAP, "iteration cap")


@dataclass(frozen=True)
class Attempt:
    """One path tried: which, its iterations (rounds, or the most over columns) and its exit."""

    path: Path
    n_iter: int
    exit: Exit


@dataclass
class ActiveSetOutput:
    """What ``active_set_nnls`` returns.

    x : (n,) or (n, k) float64, >= 0
    n_iter : pivoting / outer iterations, an int or one per column
    converged : bool or one per column
    message : which path produced x and why an earlier one was left
    path : the kernel that produced x: "working-set", "block-pivoting", "lawson-hanson-gram",
        "lawson-hanson-qr", "compressed", "scipy", or for many right-hand sides
        "block-pivoting" possibly followed by "+columns" when some columns were finished one
        at a time
    trail : the paths tried, in order, each with its :class:`Exit` (the last produced x)
    """

    x: np.ndarray
    n_iter: np.ndarray | int
    converged: np.ndarray | bool
    message: str
    path: str = ""
    trail: tuple[Attempt, ...] = ()
