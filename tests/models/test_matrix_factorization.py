"""Model-free matrix factorization: sequential learning, early stopping, and the full run's fit
of the noise (the control)."""

from __future__ import annotations

import numpy as np
import pytest

from reparam.models import matrix_factorization as mf


@pytest.fixture(scope="module")
def noisy_run():
    prob = mf.problem(shape=(20, 15), singular_values=(4.0, 3.0, 2.0), noise=0.05, seed=0)
    return mf.run(prob, 1e-4, iterations=400)


def test_singular_values_rise_in_order(noisy_run):
    rise = mf.rise_times(noisy_run, 5)
    assert np.all(rise >= 0)
    assert np.all(np.diff(rise) > 0)
    # the noise directions rise long after the signal (a clear gap for the stopping rule)
    assert rise[3] > 2 * rise[2]


def test_plateau_stop_is_a_best_rank_r_approximation(noisy_run):
    c = mf.check(noisy_run)
    assert 0 < c["stop"] < noisy_run.n_iter
    assert c["rise_times"][-1] < c["stop"] < mf.rise_times(noisy_run, 4)[3]
    assert c["spectral_ratio"] <= 1 + mf.EPSILON
    assert c["denoise_ratio"] <= 1 + mf.DENOISE_SLACK
    assert c["margin"] > 0
    # the rule without ground truth is as good as the oracle, up to the slack
    assert c["denoise_ratio"] <= c["oracle_denoise_ratio"] * (1 + mf.DENOISE_SLACK)


def test_no_early_stopping_fits_the_noise(noisy_run):
    c = mf.check(noisy_run, stop=noisy_run.n_iter)
    assert c["denoise_ratio"] > 1 + mf.DENOISE_SLACK
    assert c["margin"] < 0
    # the clean error grows after the oracle time
    assert noisy_run.clean_error[-1] > 1.5 * noisy_run.clean_error.min()


def test_noiseless_rank_r_data_is_recovered():
    prob = mf.problem(shape=(12, 10), singular_values=(3.0, 2.0), noise=0.0, seed=2)
    r = mf.run(prob, 1e-3, iterations=400)
    assert r.clean_error[-1] / np.linalg.norm(prob.clean) < 1e-6


def test_plateau_stop_rule():
    loss = np.array([8.0, 8.0, 8.0, 8.0, 4.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    # t = 12: loss[12] = loss[6] (a plateau over a doubling of t), below half the start
    assert mf.plateau_stop(loss) == 12
    assert mf.plateau_stop(np.full(10, 3.0)) == 9  # never below half: the end


def test_bad_input():
    with pytest.raises(ValueError, match="singular_values"):
        mf.problem(singular_values=(1.0, -1.0))
    with pytest.raises(ValueError, match="fit"):
        mf.problem(shape=(2, 2), singular_values=(3.0, 2.0, 1.0))
    prob = mf.problem(shape=(6, 5), singular_values=(2.0,), seed=0)
    with pytest.raises(ValueError, match="init_scale"):
        mf.run(prob, 0.0)
    with pytest.raises(TypeError, match="prob"):
        mf.run(np.eye(3), 1e-3)
    with pytest.raises(ValueError, match="stop"):
        mf.check(mf.run(prob, 1e-3, iterations=5), stop=99)


def test_wider_factors_learn_the_same_way():
    # any overparametrization: width 30 > min(d1, d2) = 15 gives the same ordered rises and
    # the same early-stopped approximation
    prob = mf.problem(shape=(20, 15), singular_values=(4.0, 3.0, 2.0), noise=0.05, seed=0)
    c = mf.check(mf.run(prob, 1e-4, width=30, iterations=300))
    assert np.all(np.diff(c["rise_times"]) > 0)
    assert c["margin"] > 0
