"""The report: one self-contained HTML page (figures embedded as base64 PNG) and results.json."""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import platform
from collections.abc import Iterable
from pathlib import Path

from ._common import Outcome, jsonable

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.yes { color: #1a7f37; font-weight: bold; } .no { color: #b42318; font-weight: bold; }
.maybe { color: #9a6700; font-weight: bold; }
.claim { font-style: italic; } .meta { color: #666; font-size: 0.9em; }
img { max-width: 100%; border: 1px solid #eee; }
"""


def figure_png(fig, dpi: int = 110) -> bytes:
    """PNG bytes of a matplotlib figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def img_tag(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def html_table(header: list[str], rows: list[list], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{html.escape(str(v))}</td>' if i in numeric
            else f"<td>{v if str(v).startswith('<span') else html.escape(str(v))}</td>"
            for i, v in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def verdict_span(ok, yes: str = "supported", no: str = "not supported") -> str:
    """A coloured verdict: ``ok`` is a bool or one of the verdict strings."""
    if isinstance(ok, str):
        css = {"supported": "yes", "not supported": "no"}.get(ok, "maybe")
        return f'<span class="{css}">{html.escape(ok)}</span>'
    return f'<span class="{"yes" if ok else "no"}">{yes if ok else no}</span>'


def page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body>{body}</body></html>\n")


def meta_line(extra: str = "") -> str:
    import reparam

    when = _dt.datetime.now().isoformat(timespec="seconds")
    return (f'<p class="meta">reparam {reparam.__version__}, Python {platform.python_version()}, '
            f"{html.escape(platform.platform())}, {when}. {html.escape(extra)}</p>")


_SECTIONS = (("paper", "The paper's experiments, at its settings"),
             ("ours", "Our experiments, beyond the paper (claims stated by us)"),
             ("related", "Related work: the models of reparam.models, claims as their papers state them"))


def _section(o: Outcome, png: bytes) -> str:
    notes = f"<p><b>Note.</b> {html.escape(o.notes)}</p>" if o.notes else ""
    if o.deviations:
        notes += ("<p><b>Departures from the paper's settings at this size</b> (size "
                  "<code>paper</code> has none):</p><ul>"
                  + "".join(f"<li>{html.escape(d)}</li>" for d in o.deviations) + "</ul>")
    c = o.control or {}
    control = (f"<p>Negative control, same criterion: {html.escape(c.get('name', ''))} → "
               f"{verdict_span(c.get('verdict', ''))} (margin {c.get('margin', float('nan')):.3g}; "
               f"{html.escape(c.get('criterion', ''))}).</p>") if c else ""
    return (f'<h3 id="{o.name}">{html.escape(o.title)} <code>({o.name})</code></h3>'
            f'<p class="claim">Claim: {html.escape(o.claim)}</p>'
            f"<p>Verdict: {verdict_span(o.verdict)}, margin {o.margin:.3g}. Criterion: "
            f"{html.escape(o.criterion)}.</p>{control}"
            f"{notes}{img_tag(png, o.title)}"
            f'<p class="meta">size {o.size}, seed {o.seed}, {o.seconds:.1f} s (CPU '
            f"{o.cpu_seconds:.1f} s); every plotted "
            f"number is in results.json under \"experiments\" → \"{o.name}\".</p>")


def results_json(outcomes: list[Outcome], seed: int | None = None) -> dict:
    """The machine-readable report: run metadata and, per experiment, claim to table."""
    import reparam

    sizes = sorted({o.size for o in outcomes})
    return {
        "version": reparam.__version__,
        "seed": seed,
        "size": sizes[0] if len(sizes) == 1 else sizes,
        "platform": f"Python {platform.python_version()}, {platform.platform()}",
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "experiments": {o.name: {
            "title": o.title, "section": o.section, "claim": o.claim,
            "criterion": o.criterion, "verdict": o.verdict, "margin": jsonable(o.margin),
            "control": jsonable(o.control), "size": o.size, "seed": o.seed,
            "seconds": o.seconds, "cpu_seconds": o.cpu_seconds, "notes": o.notes,
            "deviations": list(o.deviations), "table": jsonable(o.table)}
            for o in outcomes},
    }


def write_report(outcomes: Iterable[Outcome], out_dir, *, title: str | None = None,
                 seed: int | None = None) -> Path:
    """Write ``index.html``, ``results.json`` and ``figures/<name>.png`` into ``out_dir``.

    ``seed`` is the seed given on the command line (None: each experiment's paper seed).
    Returns the path of ``index.html``.
    """
    outcomes = list(outcomes)
    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    title = title or "reparam: the paper's experiments"
    sizes = sorted({o.size for o in outcomes})
    total = sum(o.seconds for o in outcomes)
    cpu = sum(o.cpu_seconds for o in outcomes)
    summary = html_table(
        ["experiment", "section", "claim", "verdict", "control", "time [s]"],
        [[o.title, o.section, o.claim, verdict_span(o.verdict),
          verdict_span(o.control.get("verdict", "")) if o.control else "",
          f"{o.seconds:.1f}"] for o in outcomes],
        numeric={5})
    sections = []
    for key, heading in _SECTIONS:
        chosen = [o for o in outcomes if o.section == key]
        if not chosen:
            continue
        sections.append(f"<h2>{html.escape(heading)}</h2>")
        for o in chosen:
            png = figure_png(o.figure)
            (out / "figures" / f"{o.name}.png").write_bytes(png)
            sections.append(_section(o, png))
    body = (f"<h1>{html.escape(title)}</h1>"
            "<p>Chou, Maly, Verdun, Freitas Paulo da Costa &amp; Mirandola, “Get rid of your "
            "constraints and reparametrize: a study in NNLS and implicit bias”, AISTATS 2025 "
            "(arXiv:2207.08437). Each verdict is computed from this run by the stated "
            "criterion; a verdict whose evidence includes a run stopped at its iteration "
            "limit is “inconclusive”; each criterion is also run on a negative control, which "
            "should come out “not supported”. Step sizes η are in the paper's convention "
            "(our riemannian-gd step = η/L).</p>"
            + meta_line(f"Sizes: {', '.join(sizes)}; total {total:.0f} s (CPU {cpu:.0f} s).")
            + summary + "".join(sections))
    index = out / "index.html"
    index.write_text(page(title, body), encoding="utf-8")
    (out / "results.json").write_text(
        json.dumps(results_json(outcomes, seed), indent=1, allow_nan=False), encoding="utf-8")
    return index
