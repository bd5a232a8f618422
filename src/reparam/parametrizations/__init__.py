"""Parametrizations x = φ(u) and the mirror geometry they induce.

Gradient flow on the parameters, ``u' = -J(u)ᵀ ∇f(φ(u))``, moves x = φ(u) by
``x' = -J Jᵀ ∇f(x)``. When the gradient fields ∇φ_i commute (zero Lie brackets), this is
the mirror flow ``d/dt ∇ψ(x) = -∇f(x)`` of a potential ψ with ``∇²ψ(x) = (J Jᵀ)⁻¹``
(Li, Wang, Lee & Arora 2022, "Implicit bias of gradient descent on reparametrized models: on
equivalence to mirror descent", Thm. 4.8). Each class below gives φ, its Jacobian, an
initialization, and ψ in closed form: the mirror map ∇ψ, its inverse ∇ψ* = (∇ψ)⁻¹, the potential
ψ, its convex conjugate ψ*, the Bregman divergence D_ψ, and the inverse metric dx/dz = ∇²ψ*(z).

The potentials are normalized so that the *time* of gradient flow on u equals the time of the
mirror flow: e.g. for x = u², ``x' = -4 x ∇f`` so ``ψ''(x) = 1/(4x)`` and ``∇ψ(x) = ¼ log x``.

For some parametrizations (Difference, Hadamard, Simplex, Custom) ψ depends on the initial
parameter u0 through a conserved quantity of the flow (u·v for u² − v², u² − v² for u⊙v, ‖u‖²
for the simplex). Their geometry methods take ``u0=`` (an array, or a float meaning
``initial_u(init_scale=u0, n=len(x))``).

References
----------
Z. Li, T. Wang, J. D. Lee, S. Arora, NeurIPS 2022 (commuting parametrizations).
B. Woodworth et al., "Kernel and rich regimes in overparametrized models", COLT 2020
(u² − v² and the hyperbolic entropy).
H.-H. Chou, J. Maly, C. M. Verdun, B. Freitas Paulo da Costa, H. Mirandola, "Get rid of your
constraints and reparametrize: a study in NNLS and implicit bias", AISTATS 2025 (arXiv 2207.08437).
"""

from __future__ import annotations

from ._base import Domain, Parametrization, as_vector
from ._custom import Custom
from ._entrywise import Box, Difference, Hadamard, Power, Simplex
from ._matrix import DeepProduct, NonnegativeProduct, Product, SymmetricProduct
from ._weight_normalized import WeightNormalized

__all__ = [
    "Box",
    "Custom",
    "DeepProduct",
    "Difference",
    "Domain",
    "Hadamard",
    "NonnegativeProduct",
    "Parametrization",
    "Power",
    "Product",
    "Simplex",
    "SymmetricProduct",
    "WeightNormalized",
    "as_vector",
]
