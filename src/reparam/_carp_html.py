"""A self-contained HTML page for a convex clustering path: inline SVG and plain JavaScript.

Left: the centroid paths on the first two principal components of the data, with a slider over
``gamma``; right: the dendrogram, with the cut at the slider's level drawn across it and its
leaves coloured by cluster. Nothing is loaded from the network. The page reads ``?level=K`` from
its address and moves the slider there (used to drive it headless).
"""

from __future__ import annotations

import html
import json

import numpy as np
from scipy.cluster.hierarchy import dendrogram

# At most this many levels are embedded: the page stays below a few MB for 1000 points.
_MAX_FRAMES = 200
_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf"]
_W, _H, _PAD = 460, 420, 30


def _frames(n_levels: int) -> np.ndarray:
    if n_levels <= _MAX_FRAMES:
        return np.arange(n_levels)
    return np.unique(np.linspace(0, n_levels - 1, _MAX_FRAMES).round().astype(int))


def render(path, X: np.ndarray, title: str = "Convex clustering path (CARP)") -> str:
    """The HTML page of ``path`` (a :class:`reparam.clustering.ClusterPath`) for the data ``X``."""
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    _, _, vt = np.linalg.svd(X - mean, full_matrices=False)
    basis = vt[:2].T if vt.shape[0] >= 2 else np.column_stack([vt[0], np.zeros(X.shape[1])])
    frames = _frames(len(path.gammas))
    proj = (path.centroids[frames] - mean) @ basis           # (f, n, 2)
    data = (X - mean) @ basis
    lo = np.minimum(proj.min(axis=(0, 1)), data.min(axis=0))
    hi = np.maximum(proj.max(axis=(0, 1)), data.max(axis=0))
    span = np.where(hi > lo, hi - lo, 1.0)
    to_px = lambda P: np.stack([
        _PAD + (P[..., 0] - lo[0]) / span[0] * (_W - 2 * _PAD),
        _H - _PAD - (P[..., 1] - lo[1]) / span[1] * (_H - 2 * _PAD)], axis=-1)
    proj_px, data_px = to_px(proj), to_px(data)
    # clusters numbered in the order of their first point, so a colour stays with a cluster
    labels = np.array([path.labels_at(path.gammas[f]) for f in frames])
    n_clusters = [int(np.unique(row).size) for row in labels]

    tree = dendrogram(path.linkage, no_plot=True)
    heights = np.log10(np.maximum(np.array(tree["dcoord"]), path.gammas[0]))
    hmin, hmax = np.log10(path.gammas[0]), max(heights.max(), np.log10(path.gammas[0]) + 1)
    xs = np.array(tree["icoord"])
    xmax = 10.0 * len(tree["leaves"])
    dx = lambda v: _PAD + v / xmax * (_W - 2 * _PAD)
    dy = lambda h: _H - _PAD - (h - hmin) / (hmax - hmin) * (_H - 2 * _PAD)
    links = "".join(
        '<polyline fill="none" stroke="#555" stroke-width="1" points="'
        + " ".join(f"{dx(a):.1f},{dy(b):.1f}" for a, b in zip(xi, hi_, strict=True)) + '"/>'
        for xi, hi_ in zip(xs, heights, strict=True))
    leaf_x = [round(float(dx(5.0 + 10.0 * r)), 1) for r in range(len(tree["leaves"]))]
    cut_y = [round(float(dy(np.log10(path.gammas[f]))), 1) for f in frames]

    payload = {
        "gammas": [float(f"{path.gammas[f]:.4g}") for f in frames],
        "paths": np.round(proj_px, 1).transpose(1, 0, 2).tolist(),   # (n, f, 2)
        "labels": labels.tolist(), "nClusters": n_clusters, "cutY": cut_y,
        "leaves": [int(v) for v in tree["leaves"]], "leafX": leaf_x, "palette": _PALETTE,
        "leafY": _H - _PAD + 6,
    }
    points = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="#ccc"/>'
                     for x, y in data_px)
    trails = "".join(
        '<polyline fill="none" stroke="#bbb" stroke-width="0.6" points="'
        + " ".join(f"{x:.1f},{y:.1f}" for x, y in trail) + '"/>'
        for trail in proj_px.transpose(1, 0, 2))
    status = html.escape(f"{path.method.upper()}: {path.message}")
    return _TEMPLATE.format(
        title=html.escape(title), W=_W, H=_H, points=points, trails=trails, links=links,
        last=len(frames) - 1, status=status, n=path.n_points,
        payload=json.dumps(payload, separators=(",", ":")))


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; }}
.row {{ display: flex; gap: 1em; flex-wrap: wrap; }}
svg {{ border: 1px solid #ddd; background: #fff; }}
#controls {{ margin: 0.8em 0; }}
#level {{ width: 600px; }}
</style></head>
<body>
<h1>{title}</h1>
<p id="meta">{n} points. {status}</p>
<div id="controls">
<input type="range" id="level" min="0" max="{last}" value="0" step="1">
<span id="readout"></span>
</div>
<div class="row">
<svg id="paths" width="{W}" height="{H}" viewBox="0 0 {W} {H}">
<text x="8" y="16" font-size="12">centroid paths (first two principal components)</text>
<g id="data">{points}</g><g id="trails">{trails}</g><g id="centroids"></g>
</svg>
<svg id="dendrogram" width="{W}" height="{H}" viewBox="0 0 {W} {H}">
<text x="8" y="16" font-size="12">dendrogram (height: log10 gamma)</text>
<g id="links">{links}</g><g id="leaves"></g>
<line id="cut" x1="0" x2="{W}" y1="0" y2="0" stroke="#d62728" stroke-width="2"
 stroke-dasharray="6,3"/>
</svg>
</div>
<script>
"use strict";
const D = {payload};
const NS = "http://www.w3.org/2000/svg";
const slider = document.getElementById("level");
const cents = document.getElementById("centroids");
const leaves = document.getElementById("leaves");
const dots = D.paths.map(() => {{
  const c = document.createElementNS(NS, "circle"); c.setAttribute("r", "4");
  cents.appendChild(c); return c; }});
const marks = D.leaves.map((p, r) => {{
  const c = document.createElementNS(NS, "rect");
  c.setAttribute("x", D.leafX[r] - 2); c.setAttribute("y", D.leafY);
  c.setAttribute("width", 4); c.setAttribute("height", 8);
  leaves.appendChild(c); return c; }});
function colour(label) {{ return D.palette[label % D.palette.length]; }}
function show(f) {{
  const labels = D.labels[f];
  dots.forEach((c, i) => {{
    c.setAttribute("cx", D.paths[i][f][0]); c.setAttribute("cy", D.paths[i][f][1]);
    c.setAttribute("fill", colour(labels[i])); }});
  marks.forEach((m, r) => m.setAttribute("fill", colour(labels[D.leaves[r]])));
  const cut = document.getElementById("cut");
  cut.setAttribute("y1", D.cutY[f]); cut.setAttribute("y2", D.cutY[f]);
  document.getElementById("readout").textContent =
    "gamma = " + D.gammas[f] + ", clusters: " + D.nClusters[f];
  document.body.dataset.level = f;
  document.body.dataset.clusters = D.nClusters[f];
}}
slider.addEventListener("input", () => show(Number(slider.value)));
const asked = new URLSearchParams(window.location.search).get("level");
if (asked !== null) {{
  slider.value = Math.max(0, Math.min(Number(slider.max), Number(asked)));
  slider.dispatchEvent(new Event("input"));
}} else {{
  show(0);
}}
</script>
</body></html>
"""
