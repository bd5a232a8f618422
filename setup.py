"""The compiled kernels of the exact solver; everything else is declared in pyproject.toml.

``optional=True``: where an extension cannot be built (no C compiler), the install goes on
and the solver uses its numpy version of the same algorithm.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "reparam.solvers.active_set._bppc",
            sources=["src/reparam/solvers/active_set/_bppc.c"],
            optional=True,
        ),
        Extension(
            "reparam.solvers.active_set._cholc",
            sources=["src/reparam/solvers/active_set/_cholc.c"],
            optional=True,
        ),
    ]
)
