"""``reparam demo``: why this library exists, in under two minutes, on bundled data.

Three parts, each a function that returns its rows for the summary table, a figure and its data:

1. :func:`deblurring` — a photograph (``skimage.data.camera``, downscaled) blurred by a Gaussian
   point-spread function plus noise, restored as NNLS with the blur as a ``LinearOperator``
   (n in the tens of thousands) by the accelerated reparametrized solver, its iteration count
   chosen without the ground truth by the discrepancy principle (:func:`discrepancy_stop`) and
   the L-curve (:func:`lcurve_corner`), next to the best-PSNR count (an oracle) and
   scikit-image's Richardson–Lucy at its best count.
2. :func:`implicit_bias` — which solution reparametrized gradient descent picks on an
   underdetermined sparse non-negative problem, against the predicted limit and the ℓ1 solution.
3. :func:`exact_speed` — exact NNLS on a real dictionary (scikit-learn's ``digits``), many
   right-hand sides: ``reparam.nnls`` against ``scipy.optimize.nnls``.

:func:`run_demo` runs all three, prints a table with ``rich`` and writes ``index.html`` (figures
embedded) into the output folder; :data:`COLUMNS` defines the table's columns. Needs
``pip install 'reparam[demo]'``.
"""

from __future__ import annotations

import html
import time
from pathlib import Path

import numpy as np
import scipy.optimize
from scipy.signal import fftconvolve
from scipy.sparse.linalg import LinearOperator

import reparam as rp

from .experiments._common import gaussian_problem, new_figure, require
from .experiments.report import figure_png, html_table, img_tag, meta_line, page
from .implicit_bias import l1_limit, limit
from .parametrizations import Power

SIZES = {
    # deblurring: image side, PSF sigma, max iterations; implicit bias: (M, N, s), alphas,
    # max_iter; exact speed: atoms, right-hand sides
    "tiny": {"side": 40, "sigma": 1.5, "deblur_iter": 40, "rl_iter": (2, 5, 10, 20, 40),
             "bias": ((10, 30, 3), (3e-2, 0.3, 1.0), 5_000), "atoms": 120, "rhs": 20},
    "quick": {"side": 96, "sigma": 2.0, "deblur_iter": 120,
              "rl_iter": (5, 10, 20, 30, 40, 60, 80, 120),
              "bias": ((20, 60, 4), (1e-3, 1e-2, 1e-1, 1.0), 20_000), "atoms": 300,
              "rhs": 100},
    "full": {"side": 256, "sigma": 2.0, "deblur_iter": 200,
             "rl_iter": (5, 10, 15, 20, 30, 40, 60, 80, 120, 160, 200),
             "bias": ((40, 120, 5), (1e-3, 1e-2, 1e-1, 0.3, 1.0), 30_000), "atoms": 600,
             "rhs": 300},
}
_NOISE = 0.01
_BIAS_TOL = 1e-7  # reparam-gd's tolerance in the implicit-bias part (as in its experiment)


# ----------------------------------------------------------------------------------------------
# 1. deblurring
# ----------------------------------------------------------------------------------------------
def gaussian_psf(sigma: float) -> np.ndarray:
    radius = int(np.ceil(3 * sigma))
    g = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * sigma**2))
    psf = np.outer(g, g)
    return psf / psf.sum()


def blur_operator(shape: tuple[int, int], psf: np.ndarray) -> LinearOperator:
    """The blur x ↦ psf * x (zero boundary, same size) and its adjoint, by FFT, as an operator."""
    flipped = psf[::-1, ::-1]
    n = shape[0] * shape[1]

    def matvec(x):
        return fftconvolve(np.reshape(x, shape), psf, mode="same").ravel()

    def rmatvec(y):
        return fftconvolve(np.reshape(y, shape), flipped, mode="same").ravel()

    return LinearOperator((n, n), matvec=matvec, rmatvec=rmatvec, dtype=np.float64)


def _psnr(truth, estimate, margin: int) -> float:
    """PSNR (data range 1) on the interior, ``margin`` pixels away from the border."""
    sl = (slice(margin, -margin or None),) * 2
    err = np.clip(estimate, 0, 1)[sl] - truth[sl]
    return float(10 * np.log10(1.0 / np.mean(err**2)))


# Discrepancy principle: stop at the first iterate with ||A x - b|| <= tau * ||noise||. The
# theory asks for tau > 1 (Engl, Hanke & Neubauer, "Regularization of Inverse Problems", 1996,
# sec. 4.3); with m ~ 1e4 pixels ||noise|| is known to within 1%, so tau close to 1 is safe.
_TAU = 1.01


def discrepancy_stop(noise_norm: float, tau: float = _TAU):
    """A ``callback`` for :func:`reparam.nnls` that stops once ``||A x - b|| <= tau * noise_norm``.

    The discrepancy principle (Morozov 1966): iterating further would fit the noise. Needs
    only the noise level ``noise_norm = sigma * sqrt(m)``, never the ground truth.

    Examples
    --------
    >>> import numpy as np, reparam as rp
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((200, 50)); x = np.abs(rng.standard_normal(50))
    >>> b = A @ x + 0.1 * rng.standard_normal(200)  # sigma = 0.1
    >>> res = rp.nnls(A, b, method="fista", callback=discrepancy_stop(0.1 * np.sqrt(200)))
    >>> res.status.name, bool(np.linalg.norm(A @ res.x - b) <= 1.01 * 0.1 * np.sqrt(200))
    ('INTERRUPTED', True)
    """

    def callback(state) -> bool:
        return bool(np.sqrt(2.0 * state.objective) <= tau * noise_norm)

    return callback


def lcurve_corner(residual, seminorm) -> int:
    """Index of the corner of the L-curve ``(log residual, log seminorm)`` along a path.

    The L-curve (Hansen 1992; for iteration counts, Hansen, "Rank-Deficient and Discrete
    Ill-Posed Problems", 1998, sec. 7.5) plots the data misfit against the size of the
    solution; early iterates sit on the steep leg (misfit falls fast), late ones on the flat leg
    (the seminorm grows as noise is fitted). Both logarithms are scaled to [0, 1] and the corner
    is the point nearest to (0, 0), where neither can be made smaller without the other growing.
    Needs neither the noise level nor the ground truth.

    Examples
    --------
    >>> lcurve_corner([10.0, 5.0, 2.0, 1.0, 0.99, 0.98], [1.0, 1.01, 1.02, 1.03, 2.0, 4.0])
    3
    """
    residual, seminorm = np.asarray(residual, float), np.asarray(seminorm, float)
    # a flat start (x0 = α·1 has no gradient) has no place on a log scale
    candidates = np.flatnonzero((residual > 0) & (seminorm > 0))
    if candidates.size == 0:
        raise ValueError("the L-curve needs points with positive residual and seminorm")

    def unit(v):
        v = np.log(v[candidates])
        span = np.ptp(v)
        return (v - v.min()) / span if span > 0 else np.zeros_like(v)

    return int(candidates[np.argmin(unit(residual) ** 2 + unit(seminorm) ** 2)])


def _roughness(image: np.ndarray) -> float:
    """``||grad x||_2``: the seminorm of the L-curve (finite differences)."""
    return float(np.sqrt(np.sum(np.diff(image, axis=0) ** 2) + np.sum(np.diff(image, axis=1) ** 2)))


def deblurring(size: str = "full", seed: int = 0, step=None) -> dict:
    """Restore a blurred, noisy photograph with accelerated reparametrized NNLS.

    Unregularized NNLS fits the noise eventually: the iteration count is the regularizer. It is
    chosen by two rules a user can apply, the discrepancy principle (needs the noise level) and
    the L-curve (needs nothing), next to the best-PSNR count (an oracle: it needs the ground
    truth) and to scikit-image's Richardson–Lucy at its own best count.
    """
    skdata = require("skimage.data")
    transform = require("skimage.transform")
    restoration = require("skimage.restoration")
    cfg = SIZES[size]
    side = cfg["side"]
    truth = transform.resize(skdata.camera().astype(float) / 255.0, (side, side),
                             anti_aliasing=True)
    psf = gaussian_psf(cfg["sigma"])
    margin = 2 * (psf.shape[0] // 2)
    rng = np.random.default_rng(seed)
    observed = fftconvolve(truth, psf, mode="same") + _NOISE * rng.standard_normal(truth.shape)
    A = blur_operator(truth.shape, psf)
    b = observed.ravel()
    solver = {"method": "accelerated", "init_scale": 0.5, "tol": 1e-12}
    noise_norm = _NOISE * np.sqrt(b.size)
    # 1. the discrepancy principle: the run a user makes, stopped by the callback
    dp = rp.nnls(A, b, **solver, max_iter=cfg["deblur_iter"], callback=discrepancy_stop(noise_norm))
    # 2. the whole path up to max_iter, for the L-curve (and, with the truth, the oracle)
    if step:
        step("deblurring: the iteration path for the L-curve")
    path = {"residual": [], "roughness": [], "psnr": [], "x": []}

    def watch(state) -> bool:
        image = state.x.reshape(truth.shape)
        path["residual"].append(float(np.sqrt(2.0 * state.objective)))
        path["roughness"].append(_roughness(image))
        path["x"].append(image.astype(np.float32))
        return False

    full = rp.nnls(A, b, **solver, max_iter=cfg["deblur_iter"], callback=watch)
    path["psnr"] = [_psnr(truth, x, margin) for x in path["x"]]  # after timing: truth unused
    k_lc = lcurve_corner(path["residual"], path["roughness"]) + 1
    k_or = int(np.argmax(path["psnr"])) + 1
    images = {"dp": dp.x.reshape(truth.shape), "lc": path["x"][k_lc - 1].astype(float),
              "oracle": path["x"][k_or - 1].astype(float)}
    if step:
        step("deblurring: Richardson–Lucy (scikit-image)")
    rl_curve, rl_runs = [], []
    observed_pos = np.clip(observed, 0, None)  # Richardson-Lucy needs non-negative data
    t0 = time.perf_counter()
    for k in cfg["rl_iter"]:  # scikit-image returns only the last iterate: one run per count
        rl_runs.append(restoration.richardson_lucy(observed_pos, psf, num_iter=k, clip=False))
    rl_time = time.perf_counter() - t0
    rl_curve = [_psnr(truth, est, margin) for est in rl_runs]
    best = int(np.argmax(rl_curve))
    rl_best, rl = cfg["rl_iter"][best], rl_runs[best]
    psnr = {key: _psnr(truth, image, margin) for key, image in images.items()}
    table = {
        "n": truth.size, "psf_sigma": cfg["sigma"], "noise": _NOISE, "margin": margin,
        "noise_norm": float(noise_norm), "tau": _TAU, "max_iter": cfg["deblur_iter"],
        "psnr_observed": _psnr(truth, observed, margin),
        "psnr_dp": psnr["dp"], "iterations_dp": int(dp.n_iter), "time_dp": float(dp.time),
        "residual_dp": float(np.sqrt(2.0 * dp.objective)),
        "psnr_lcurve": psnr["lc"], "iterations_lcurve": k_lc,
        "psnr_oracle": psnr["oracle"], "iterations_oracle": k_or, "time_path": float(full.time),
        "residual_curve": path["residual"], "roughness_curve": path["roughness"],
        "psnr_curve": path["psnr"],
        "psnr_rl": _psnr(truth, rl, margin), "iterations_rl": int(rl_best), "time_rl": rl_time,
        "rl_iterations_tried": list(cfg["rl_iter"]),
        "psnr_curve_rl": rl_curve,
    }
    fig = _deblurring_figure(table, observed, images, rl, cfg)
    gain = table["psnr_observed"]
    rows = [
        ["deblurring", f"rp.nnls accelerated, discrepancy principle: {dp.n_iter} it.",
         f"PSNR {psnr['dp']:.2f} dB ({psnr['dp'] - gain:+.2f})", f"{dp.time:.2f}"],
        ["", f"rp.nnls accelerated, L-curve corner: {k_lc} it.",
         f"PSNR {psnr['lc']:.2f} dB ({psnr['lc'] - gain:+.2f})", f"{full.time:.2f}"],
        ["", f"rp.nnls accelerated, best-PSNR oracle: {k_or} it.",
         f"PSNR {psnr['oracle']:.2f} dB ({psnr['oracle'] - gain:+.2f})", f"{full.time:.2f}"],
        ["", f"skimage Richardson–Lucy, best-PSNR oracle: {rl_best} it.",
         f"PSNR {table['psnr_rl']:.2f} dB ({table['psnr_rl'] - gain:+.2f})", f"{rl_time:.2f}"],
    ]
    return {"rows": rows, "figure": fig, "table": table}


def _deblurring_figure(table: dict, observed, images: dict, rl, cfg: dict):
    fig, ax = new_figure(3, width=3.4, height=3.4, nrows=2)
    panels = (
        (observed, f"blurred + noise\n{table['psnr_observed']:.2f} dB"),
        (images["dp"], f"discrepancy, {table['iterations_dp']} it.\n{table['psnr_dp']:.2f} dB"),
        (images["lc"], (f"L-curve, {table['iterations_lcurve']} it.\n"
                        f"{table['psnr_lcurve']:.2f} dB")),
        (images["oracle"], (f"oracle, {table['iterations_oracle']} it.\n"
                            f"{table['psnr_oracle']:.2f} dB")),
        (rl, f"Richardson–Lucy, {table['iterations_rl']} it.\n{table['psnr_rl']:.2f} dB"),
    )
    for a, (image, label) in zip(ax[:5], panels):
        a.imshow(np.clip(image, 0, 1), cmap="gray", vmin=0, vmax=1)
        a.set_title(label, fontsize=9)
        a.axis("off")
    k = np.arange(1, len(table["psnr_curve"]) + 1)
    ax[5].plot(k, table["psnr_curve"], label="reparam accelerated")
    ax[5].plot(cfg["rl_iter"], table["psnr_curve_rl"], "o-", ms=3, label="Richardson–Lucy")
    ax[5].axhline(table["psnr_observed"], color="k", ls=":", label="blurred input")
    for key, style, name in (("iterations_dp", "--", "discrepancy"),
                             ("iterations_lcurve", "-.", "L-curve")):
        ax[5].axvline(table[key], color="C2" if key == "iterations_dp" else "C3", ls=style,
                      label=name)
    ax[5].set(xlabel="iterations", ylabel="PSNR [dB] (interior)", title="PSNR vs iterations")
    ax[5].legend(fontsize=7)
    return fig


# ----------------------------------------------------------------------------------------------
# 2. implicit bias
# ----------------------------------------------------------------------------------------------
def implicit_bias(size: str = "full", seed: int = 0, step=None) -> dict:
    """reparam-gd for several init scales next to the predicted limit and the ℓ1 solution."""
    (m, n, s), alphas, max_iter = SIZES[size]["bias"]
    A, b, x_true = gaussian_problem(m, n, s, seed=seed)
    t0 = time.perf_counter()
    x_lp = l1_limit(A, b).x
    lp_time = time.perf_counter() - t0
    columns, times = [], []
    for alpha in alphas:  # one α at a time, so that each row has its own time
        t0 = time.perf_counter()
        res = rp.nnls(A, b, method="reparam-gd", depth=2, init_scale=float(alpha), tol=_BIAS_TOL,
                      max_iter=max_iter)
        times.append(time.perf_counter() - t0)
        columns.append((res, limit(A, b, Power(2), init_scale=float(alpha)).x))
    table = {
        "alpha": np.array(alphas, dtype=float),
        "l1_gd": [float(np.sum(r.x)) for r, _ in columns],
        "l1_limit": [float(np.sum(x_lim)) for _, x_lim in columns],
        "l1_lp": [float(np.sum(x_lp))] * len(columns),
        "error_gd": [float(np.linalg.norm(r.x - x_true)) for r, _ in columns],
        "error_lp": float(np.linalg.norm(x_lp - x_true)),
        "status_gd": [r.status.name for r, _ in columns],
        "n_iter": [int(r.n_iter) for r, _ in columns], "time_gd": times, "time_lp": lp_time,
        "x_gd": [r.x for r, _ in columns],
    }
    fig, ax = new_figure(2, width=5.0)
    a = table["alpha"]
    ax[0].semilogx(a, table["l1_gd"], "o", ms=7, label="reparam-gd")
    ax[0].semilogx(a, table["l1_limit"], "-", label="predicted limit")
    ax[0].axhline(table["l1_lp"][0], ls="--", color="k", label="ℓ1 solution (LP)")
    ax[0].axhline(np.sum(x_true), ls=":", color="C2", label="ground truth")
    ax[0].set(xlabel="init scale α", ylabel="‖x∞‖₁", yscale="log",
              title=f"{m} × {n}, s = {s}: ‖x∞‖₁ against α")
    ax[0].legend()
    idx = np.arange(n)
    ax[1].stem(idx, x_true, linefmt="C2-", markerfmt="C2o", basefmt=" ", label="ground truth")
    ax[1].plot(idx, table["x_gd"][0], "C0x", ms=9, mew=2, zorder=4,
               label=f"reparam-gd, α = {a[0]:g}")
    ax[1].plot(idx, table["x_gd"][-1], "C3.", label=f"reparam-gd, α = {a[-1]:g}")
    ax[1].set(xlabel="coordinate", ylabel="x_i", title="solutions")
    ax[1].legend(fontsize=8)
    rows = []
    for i, alpha in enumerate(a):
        status = table["status_gd"][i]
        rows.append(["implicit bias" if i == 0 else "",
                     f"reparam-gd α = {alpha:g} ({m}×{n}): {table['n_iter'][i]} it."
                     + ("" if status == "CONVERGED" else f", {status}"),
                     (f"‖x‖₁ {table['l1_gd'][i]:.3f} (limit {table['l1_limit'][i]:.3f}), "
                      f"error {table['error_gd'][i]:.1e}"), f"{table['time_gd'][i]:.2f}"])
    rows.append(["", "ℓ1 minimization (LP, reparam.implicit_bias.l1_limit)",
                 f"‖x‖₁ {table['l1_lp'][0]:.3f}, error {table['error_lp']:.1e}",
                 f"{table['time_lp']:.2f}"])
    keep = {k: v for k, v in table.items() if not k.startswith("x_")}
    return {"rows": rows, "figure": fig, "table": keep | {"shape": [m, n], "sparsity": s}}


# ----------------------------------------------------------------------------------------------
# 3. exact NNLS speed
# ----------------------------------------------------------------------------------------------
def exact_speed(size: str = "full", seed: int = 0, step=None) -> dict:
    """Fit held-out digits as non-negative combinations of training digits, exactly."""
    datasets = require("sklearn.datasets")
    cfg = SIZES[size]
    images = datasets.load_digits().data / 16.0  # 1797 images of 8 × 8 pixels
    order = np.random.default_rng(seed).permutation(images.shape[0])
    D = images[order[:cfg["atoms"]]].T  # 64 × atoms: the dictionary
    B = images[order[cfg["atoms"]:cfg["atoms"] + cfg["rhs"]]].T  # held-out digits
    res = rp.nnls(D, B)
    kkt_rp = float(np.max(res.kkt))
    t0 = time.perf_counter()
    X_sp = np.stack([scipy.optimize.nnls(D, B[:, j])[0] for j in range(B.shape[1])], axis=1)
    t_sp = time.perf_counter() - t0
    kkt_sp = max(rp.kkt_residual(D, B[:, j], X_sp[:, j]) for j in range(B.shape[1]))
    rel = np.linalg.norm(D @ res.x - B, axis=0) / np.linalg.norm(B, axis=0)
    table = {"shape": list(D.shape), "rhs": B.shape[1], "time_reparam": float(res.time),
             "time_scipy": t_sp, "kkt_reparam": kkt_rp, "kkt_scipy": float(kkt_sp),
             "median_relative_residual": float(np.median(rel)),
             "median_atoms_used": float(np.median(np.sum(res.x > 0, axis=0)))}
    fig, ax = new_figure(2, width=4.5)
    j = 0
    ax[0].imshow(np.hstack([B[:, j].reshape(8, 8), (D @ res.x[:, j]).reshape(8, 8)]),
                 cmap="gray_r")
    ax[0].set_title(f"held-out digit | fit with {int(np.sum(res.x[:, j] > 0))} atoms")
    ax[0].axis("off")
    ax[1].bar([0, 1], [res.time, t_sp], color=["C0", "0.6"])
    ax[1].set_xticks([0, 1], ["rp.nnls", "scipy.optimize.nnls\n(one column at a time)"])
    ax[1].set(ylabel="time [s]", title=f"{B.shape[1]} right-hand sides, A {D.shape[0]}×"
                                       f"{D.shape[1]}")
    rows = [
        ["exact NNLS", f"rp.nnls, digits {D.shape[0]}×{D.shape[1]}, {B.shape[1]} rhs",
         f"max kkt {kkt_rp:.1e}", f"{res.time:.2f}"],
        ["", "scipy.optimize.nnls, column by column", f"max kkt {kkt_sp:.1e}", f"{t_sp:.2f}"],
    ]
    return {"rows": rows, "figure": fig, "table": table}


# ----------------------------------------------------------------------------------------------
# the job
# ----------------------------------------------------------------------------------------------
_PARTS = (
    ("deblurring", "1. Image deblurring as NNLS", deblurring,
     ("A {side}×{side} photograph (scikit-image's camera), blurred by a Gaussian PSF and 1% "
      "Gaussian noise, restored as NNLS with the blur as a LinearOperator (never a matrix) by "
      "the accelerated reparametrized solver. Iterating too long fits the noise, so the "
      "iteration count is the regularizer; it is chosen without the ground truth by the "
      "discrepancy principle (stop once ‖Ax − b‖ ≤ τ·σ·√m, σ the known noise level, "
      "τ = 1.01) and by the corner of the L-curve (log ‖Ax − b‖ against log ‖∇x‖ along the "
      "path, no noise level needed), shown next to the best-PSNR count, an oracle that needs "
      "the ground truth, and scikit-image's Richardson–Lucy at its own best count. PSNR on the "
      "interior (Richardson–Lucy in scikit-image darkens the border); in brackets its gain "
      "over the blurred input.")),
    ("implicit_bias", "2. Implicit bias", implicit_bias,
     ("An underdetermined sparse non-negative recovery problem has many non-negative solutions. "
      "Gradient descent on x = u⊙u from u₀ = α·1 picks one, predicted in advance by "
      "reparam.implicit_bias.limit; as α → 0 it tends to the minimum-ℓ1 (LP) solution and "
      "recovers the sparse ground truth. Each row is one run (tol 1e-7); a run that stops at "
      "max_iter says so.")),
    ("exact_speed", "3. Exact NNLS on a real dictionary", exact_speed,
     ("Held-out handwritten digits (scikit-learn's digits) fitted as non-negative combinations "
      "of training digits: exact NNLS with many right-hand sides, reparam.nnls against "
      "scipy.optimize.nnls, with the KKT certificate of both.")),
)


# What each column of the summary table means (printed under it and in the report).
COLUMNS = (
    ("part", "the demonstration: deblurring, implicit bias, exact NNLS"),
    ("method", "the solver and how its iteration count was chosen; it. = iterations"),
    ("result", ("PSNR = 10·log10(1 / mean squared error) in dB against the original image, "
                "on the interior (higher is better), in brackets the gain over the blurred "
                "input; ‖x‖₁ = sum of the entries of the solution, limit = the ‖x‖₁ predicted "
                "by reparam.implicit_bias.limit; error = ‖x − x_true‖₂, the distance to the "
                "sparse ground truth; max kkt = largest relative KKT residual over the "
                "right-hand sides (reparam.kkt_residual, 0 at an exact NNLS solution)")),
    ("time (s)", ("wall-clock seconds of what the row needs: the discrepancy run stops "
                  "itself; the L-curve and the oracle need the whole path (max_iter "
                  "iterations); Richardson–Lucy's oracle runs once per tried count")),
)


def run_demo(out_dir="reparam-demo", size: str = "full", seed: int = 0, console=None) -> dict:
    """Run the three parts, print the summary table, write ``index.html`` into ``out_dir``.

    Returns ``{"path": Path of index.html, "rows": table rows, "tables": per-part data,
    "seconds": wall time}``.
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {tuple(SIZES)}, got {size!r}")
    rich_console = require("rich.console")
    rich_progress = require("rich.progress")
    rich_table = require("rich.table")
    if console is None:
        console = rich_console.Console()
        if not console.is_terminal:  # piped or logged: rich would wrap the table at 80 columns
            console = rich_console.Console(width=120)
    t_start = time.perf_counter()
    results = {}
    columns = (rich_progress.SpinnerColumn(), rich_progress.TextColumn("{task.description}"),
               rich_progress.BarColumn(), rich_progress.TimeElapsedColumn())
    with rich_progress.Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("starting", total=len(_PARTS) + 1)
        for key, title, fn, _ in _PARTS:
            progress.update(task, description=title)

            def step(text, _task=task):
                progress.update(_task, description=text)

            results[key] = fn(size=size, seed=seed, step=step)
            progress.advance(task)
        progress.update(task, description="writing the report")
        path = _write(results, Path(out_dir), size, time.perf_counter() - t_start)
        progress.advance(task)
    seconds = time.perf_counter() - t_start
    table = rich_table.Table(title=f"reparam demo ({size}) — {seconds:.0f} s")
    for name, justify in (("part", "left"), ("method", "left"), ("result", "left"),
                          ("time (s)", "right")):
        table.add_column(name, justify=justify)
    rows = [row for key, *_ in _PARTS for row in results[key]["rows"]]
    for key, *_ in _PARTS:
        for i, row in enumerate(results[key]["rows"]):
            table.add_row(*row, end_section=i == len(results[key]["rows"]) - 1)
    console.print(table)
    for name, meaning in COLUMNS:
        console.print(f"[bold]{name}[/]: {meaning}", highlight=False)
    console.print(f"report written to {path}")
    return {"path": path, "rows": rows, "seconds": seconds,
            "tables": {k: v["table"] for k, v in results.items()}}


def _write(results: dict, out: Path, size: str, seconds: float) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    side = SIZES[size]["side"]
    sections = []
    for key, title, _, text in _PARTS:
        part = results[key]
        rows = [[html.escape(str(c)) for c in r[1:]] for r in part["rows"]]
        sections.append(
            f"<h2>{html.escape(title)}</h2><p>{html.escape(text.format(side=side))}</p>"
            + img_tag(figure_png(part["figure"]), title)
            + html_table(["method", "result", "time (s)"], rows, numeric={2}))
    columns = "".join(f"<li><b>{html.escape(name)}</b>: {html.escape(meaning)}</li>"
                      for name, meaning in COLUMNS if name != "part")
    sections.append(f"<h2>Columns</h2><ul>{columns}</ul>")
    body = ("<h1>reparam demo</h1><p>Non-negative least squares, exactly and by reparametrized "
            "gradient descent (Chou et al., AISTATS 2025, arXiv:2207.08437), on data bundled "
            "with scikit-image and scikit-learn.</p>"
            + meta_line(f"Size {size}; {seconds:.0f} s.") + "".join(sections))
    path = out / "index.html"
    path.write_text(page("reparam demo", body), encoding="utf-8")
    return path
