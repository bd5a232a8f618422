"""scikit-learn for the estimators (the ``estimators`` extra): one import guard, one shim."""

from __future__ import annotations

try:  # scikit-learn is an optional dependency: `pip install reparam[estimators]`
    from sklearn.base import (
        BaseEstimator,
        ClassNamePrefixFeaturesOutMixin,
        RegressorMixin,
        TransformerMixin,
    )
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import check_cv
    from sklearn.utils import check_random_state
    from sklearn.utils.validation import (
        _check_sample_weight,
        check_array,
        check_is_fitted,
        check_non_negative,
    )
except ImportError as exc:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError(
        "reparam.decomposition and reparam.estimators need scikit-learn: "
        "pip install 'reparam[estimators]'"
    ) from exc

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # pragma: no cover - older scikit-learn

    def validate_data(estimator, X, y="no_validation", **kwargs):
        """``estimator._validate_data``, the name scikit-learn < 1.6 gives it."""
        return estimator._validate_data(X, y, **kwargs)


__all__ = [
    "BaseEstimator",
    "ClassNamePrefixFeaturesOutMixin",
    "ConvergenceWarning",
    "RegressorMixin",
    "TransformerMixin",
    "check_array",
    "check_cv",
    "check_is_fitted",
    "check_non_negative",
    "check_random_state",
    "check_sample_weight",
    "validate_data",
]
check_sample_weight = _check_sample_weight
