"""The same input gives bit-identical results, call to call and process to process."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap

import pytest
from conftest import gaussian_problem

import reparam as rp
from reparam.solvers import METHODS


@pytest.mark.parametrize("method", list(METHODS))
def test_repeated_calls_are_bit_identical(method):
    A, b, _ = gaussian_problem(40, 60, seed=3, noise=0.01)
    kwargs = {} if METHODS[method].exact else {"max_iter": 500}
    first = rp.nnls(A, b, method=method, **kwargs)
    second = rp.nnls(A, b, method=method, **kwargs)
    assert first.x.tobytes() == second.x.tobytes()
    assert first.n_iter == second.n_iter


SCRIPT = textwrap.dedent(
    """
    import hashlib, numpy as np, reparam as rp
    rng = np.random.default_rng(11)
    A = rng.standard_normal((50, 80)); b = rng.standard_normal(50)
    digest = hashlib.sha256()
    for method in rp.METHODS:
        kwargs = {} if rp.METHODS[method].exact else {"max_iter": 300}
        digest.update(rp.nnls(A, b, method=method, **kwargs).x.tobytes())
    print(digest.hexdigest())
    """
)


def test_separate_processes_agree_bit_for_bit():
    digests = {
        subprocess.run(
            [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert len(digests) == 1
    assert len(next(iter(digests))) == len(hashlib.sha256().hexdigest())
