"""How a Result reads: print() gives a summary for people, repr() one line; overflow is a status."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import wellposed_problem

import reparam as rp


def test_str_is_a_summary_with_the_message():
    A, b = wellposed_problem(40, 20, seed=3)
    res = rp.nnls(A, b, method="reparam-gd", max_iter=5)
    text = str(res)
    lines = dict(line.split(":", 1) for line in text.splitlines())
    assert set(lines) == {"method", "status", "kkt", "objective", "iterations", "time",
                          "message"}
    assert lines["method"].strip() == "reparam-gd" and lines["status"].strip() == "MAX_ITER"
    assert float(lines["kkt"]) == pytest.approx(res.kkt, rel=1e-3)
    assert float(lines["objective"]) == pytest.approx(res.objective, rel=1e-6)
    assert int(lines["iterations"]) == 5 and float(lines["time"].split()[0]) >= 0
    assert lines["message"].strip() == res.message


def test_str_of_many_right_hand_sides_counts_each_status():
    A, b = wellposed_problem(40, 20, seed=3)
    B = np.column_stack([b, 0 * b, 2 * b])  # b = 0: x = 0 is optimal at once
    res = rp.nnls(A, B, method="reparam-gd", max_iter=5)
    assert list(res.status) == [rp.Status.MAX_ITER, rp.Status.CONVERGED, rp.Status.MAX_ITER]
    assert res.status_counts() == {"CONVERGED": 1, "MAX_ITER": 2}
    text = str(res)
    assert "status:     1 CONVERGED, 2 MAX_ITER (of 3 right-hand sides)" in text
    assert f"kkt:        {np.max(res.kkt):.3e} (largest over the columns)" in text
    assert "per-column" not in text and "per-column" not in repr(res)


def test_repr_is_one_line_with_the_message():
    A, b = wellposed_problem(40, 20, seed=3)
    res = rp.nnls(A, b)
    text = repr(res)
    assert "\n" not in text and text.startswith("Result(method='active-set', status=CONVERGED")
    assert f"message={res.message!r}" in text


def test_overflow_in_a_step_is_a_numerical_error_without_warnings():
    A, b = wellposed_problem(40, 20, seed=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = rp.nnls(A, b, method="reparam-gd", step=100.0)
    assert [str(w.message) for w in caught] == []  # no "overflow encountered in matmul"
    assert res.status is rp.Status.NUMERICAL_ERROR
    assert "non-finite" in res.message and "try a smaller step" in res.message
    assert np.all(np.isfinite(res.x)) and np.all(res.x >= 0)  # the best finite iterate
    assert res.kkt == pytest.approx(rp.kkt_residual(A, b, res.x), rel=1e-12)


def test_warnings_of_the_callback_are_not_muted():
    A, b = wellposed_problem(40, 20, seed=3)

    def callback(state):
        np.float64(1e308) * 10  # the user's own overflow: theirs to see
        return True

    with pytest.warns(RuntimeWarning, match="overflow"):
        rp.nnls(A, b, method="reparam-gd", callback=callback)


# ---------------------------------------------------------------------------------------------
# Result.deferred: report fields computed on first read


def _deferred(calls):
    def report():
        calls.append(1)
        return {"kkt": 1e-3, "objective": 2.0, "complementarity": 0.5, "message": "late"}

    return rp.Result.deferred(report, x=np.ones(2), status=rp.Status.CONVERGED, n_iter=3,
                              method="active-set")


def test_deferred_fields_are_computed_once_on_first_read():
    calls = []
    res = _deferred(calls)
    assert calls == [] and res.success and res.n_iter == 3 and res.info == {}
    assert res.history is None and res.params is None and res.time == 0.0
    assert res.kkt == 1e-3 and calls == [1]
    assert (res.objective, res.complementarity, res.message) == (2.0, 0.5, "late")
    assert calls == [1]
    with pytest.raises(AttributeError, match="no attribute 'kkt_'"):
        res.kkt_  # noqa: B018 - a missing attribute is still an AttributeError


def test_deferred_field_set_before_reading_keeps_its_value():
    calls = []
    res = _deferred(calls)
    res.message = "set by the caller"
    assert res.objective == 2.0 and res.message == "set by the caller" and calls == [1]


@pytest.mark.parametrize("how", ["pickle", "copy", "deepcopy", "replace"])
def test_deferred_result_copies_carry_the_computed_fields(how):
    import copy
    import dataclasses
    import pickle

    res = _deferred([])
    out = {"pickle": lambda r: pickle.loads(pickle.dumps(r)), "copy": copy.copy,
           "deepcopy": copy.deepcopy,
           "replace": lambda r: dataclasses.replace(r, n_iter=4)}[how](res)
    assert "_report" not in vars(out)
    assert (out.kkt, out.objective, out.complementarity, out.message) == (1e-3, 2.0, 0.5, "late")
    assert type(out) is rp.Result and np.array_equal(out.x, res.x)
