"""Model-free asymmetric matrix factorization (:mod:`reparam.models.matrix_factorization`).

Jiang, Chen & Ding (SIAM J. Math. Data Sci. 2023): gradient descent on ½‖M − U Vᵀ‖²_F, width
min(d1, d2), from scale α = 1e-4, on ``M = M*`` (rank 3, distinct singular values) ``+``
Gaussian noise. The criterion is :func:`reparam.models.matrix_factorization.check` at the
stopping time of the loss-plateau rule (no ground truth); the control is the same check at the
end of the run (no early stopping).
"""

from __future__ import annotations

import numpy as np

from ..models import matrix_factorization as mf
from ._common import Outcome, control_record, decide, log_samples, new_figure, timed

NAME = "matrix-factorization"
CLAIM = ("Jiang, Chen & Ding 2023: gradient descent on ½‖M − U Vᵀ‖²_F from a small random "
         "initialization, with any overparametrization, learns the singular values of M one "
         "after another; stopped early, U Vᵀ is within (1 + ε) of the best rank-r "
         "approximation error, and it does not fit the noise that a full run fits.")

# (shape, singular values of M*, noise, iterations)
_SIZES = {"tiny": ((20, 15), (4.0, 3.0, 2.0), 0.05, 400),
          "quick": ((40, 30), (10.0, 7.0, 5.0), 0.1, 1000),
          "full": ((100, 80), (20.0, 16.0, 12.0, 8.0), 0.1, 1500)}
ALPHA = 1e-4


def _text(c: dict) -> str:
    return (f"rise times {c['rise_times']} strictly increasing (smallest gap / t_r "
            f"{c['order_gap']:.3f} > 0); at t = {c['stop']}: ‖M − X‖₂ / σ_(r+1)(M) "
            f"{c['spectral_ratio']:.4f} ≤ {c['spectral_max']:.2f}, ‖X − M*‖_F / ‖M_r − M*‖_F "
            f"{c['denoise_ratio']:.4f} ≤ {c['denoise_max']:.2f}")


def _figure(run, c: dict):
    fig, ax = new_figure(3, width=4.6, height=3.6)
    s = run.singular_values
    for i in range(s.shape[1]):
        t, v = log_samples(s[:, i])
        ax[0].loglog(np.maximum(t, 1), v, color=f"C{i}", label=f"σ_{i + 1}(X_t)")
        ax[0].axhline(run.data_singular_values[i], color=f"C{i}", ls=":", lw=0.8)
    for t_i in c["rise_times"]:
        ax[0].axvline(max(t_i, 1), color="0.6", lw=0.6)
    ax[0].set(xlabel="iteration t", ylabel="singular value",
              title="learned spectrum (dotted: σ_i(M))")
    ax[0].legend(fontsize=7)
    t, v = log_samples(run.loss)
    ax[1].loglog(np.maximum(t, 1), v, label="½‖M − X_t‖²_F")
    ax[1].axvline(c["stop"], color="C3", ls="--", label=f"plateau rule τ = {c['stop']}")
    ax[1].axvline(max(c["oracle_stop"], 1), color="C2", ls=":",
                  label=f"oracle {c['oracle_stop']}")
    ax[1].set(xlabel="iteration t", title="loss and stopping times")
    ax[1].legend(fontsize=7)
    t, v = log_samples(run.clean_error)
    ax[2].loglog(np.maximum(t, 1), v, label="‖X_t − M*‖_F")
    ax[2].axhline(run.truncation_error, color="k", ls=":", label="‖M_r − M*‖_F (truncated SVD)")
    ax[2].axvline(c["stop"], color="C3", ls="--")
    ax[2].set(xlabel="iteration t", title="error to the clean matrix")
    ax[2].legend(fontsize=7)
    return fig


@timed
def run(size: str = "quick", seed: int | None = None) -> Outcome:
    """One run from α = 1e-4: rise times, the plateau stop, the oracle, the end of the run."""
    seed = 0 if seed is None else seed
    shape, sigma, noise, iterations = _SIZES[size]
    prob = mf.problem(shape, sigma, noise, seed=seed)
    r = mf.run(prob, ALPHA, iterations=iterations, seed=seed + 1)
    c = mf.check(r)
    cc = mf.check(r, stop=r.n_iter)
    # the plateau rule must have fired inside the run for the early-stopping evidence to count
    complete = c["stop"] < r.n_iter
    criterion = (f"M {shape[0]} × {shape[1]}, σ(M*) = {sigma}, noise {noise}, α = {ALPHA:g}, "
                 f"step 0.5/σ_1(M), {iterations} steps; τ by the loss-plateau rule (loss "
                 f"below half its start and down by < {mf.PLATEAU:.0%} since τ/2): "
                 + _text(c) + f" (oracle τ = {c['oracle_stop']}: ratio "
                 f"{c['oracle_denoise_ratio']:.4f})")
    control = control_record(f"no early stopping (t = {r.n_iter})", cc["margin"], _text(cc))
    table = {**c, "control": cc, "alpha": ALPHA, "shape": list(shape), "sigma_clean": sigma,
             "noise": noise, "sigma_data": r.data_singular_values[: prob.rank + 2],
             "rise_times_beyond_r": mf.rise_times(r, prob.rank + 2).tolist(),
             "singular_values": [log_samples(r.singular_values[:, i])
                                 for i in range(r.singular_values.shape[1])],
             "loss": log_samples(r.loss), "clean_error": log_samples(r.clean_error),
             "truncation_error": r.truncation_error}
    notes = (f"Rise time: first t with σ_i(X_t) ≥ ½σ_i(M); for the two largest noise values "
             f"they are {table['rise_times_beyond_r'][prob.rank:]}, far after τ. The margin is "
             "the smallest of the three slacks (rise-time gap / t_r, 1 + ε − spectral ratio, "
             "1 + ε' − denoising ratio). The plateau rule needs the noise rise to come after "
             "a doubling of t: α small and σ_r(M)/σ_(r+1)(M) large enough (measured: it did not "
             "fire from α = 1e-2 on the quick problem, nor on 100 × 80 with σ(M*) = (10, 8, 6, "
             "4) and noise 0.1, where σ_r/σ_(r+1) ≈ 2.1).")
    return Outcome(NAME, "Model-free matrix factorization: one singular value at a time", CLAIM,
                   criterion, decide(c["margin"], complete), table, _figure(r, c), notes=notes,
                   margin=c["margin"], control=control, section="related", seed=seed)
