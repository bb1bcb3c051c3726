"""``readiness.html``: the self-contained HTML report (jinja2 template, inline CSS and SVG, no external URLs)."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from harness.model import Check, ClaimResult, ClaimVerdict, RunResult, Status, SuiteResult
from harness.report.svg import Band, Marker, line_chart
from harness.report.writer import FileWriter

READINESS_HTML = "readiness.html"

STATUS_ORDER = [Status.FAIL, Status.ERROR, Status.INCONCLUSIVE, Status.WAIVED, Status.PASS, Status.SKIPPED,
                Status.NOT_APPLICABLE]
CLAIM_ORDER = [ClaimVerdict.REFUTED, ClaimVerdict.INCONCLUSIVE, ClaimVerdict.VERIFIED, ClaimVerdict.UNTESTED]


def _round_floats(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.4g}") if abs(value) < 1e6 else round(value)
    if isinstance(value, dict):
        return {k: _round_floats(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_round_floats(v) for v in value]
    return value


def evidence_value(value: Any) -> str:
    """Scalars inline (floats to 4 significant digits); structures as indented JSON."""
    value = _round_floats(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=1, default=str)
    return str(value)


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["evidence"] = evidence_value
    env.filters["compact"] = compact
    env.filters["claim_text"] = claim_text
    env.filters["id_of"] = id
    env.tests["structured"] = lambda value: isinstance(value, (dict, list, tuple))
    return env


STATUS_MARKS = re.compile(r"\s*(?:✅|❌|⏳|✔|☑|\[[ xX]\])\s*")


def claim_text(text: str) -> str:
    """A claim as written, without the status marks (✅, [x]) that only say "done" and the empty table cells."""
    cleaned = STATUS_MARKS.sub(" ", text).replace("**", "")
    return re.sub(r"(?:\s*\|\s*)+", " | ", cleaned).strip(" |")


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_inline(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_inline(v) for v in value)
    return str(value)


def compact(value: Any, limit: int = 160) -> str:
    """``{"limit": 100, "per": "user"}`` -> ``limit 100 · per user``; nested values inline (``name: value``)."""
    value = _round_floats(value)
    if isinstance(value, dict):  # a lone "values" mapping (header values) needs no caption of its own
        items = value["values"].items() if list(value) == ["values"] and isinstance(value["values"], dict) \
            else value.items()
        text = " · ".join(f"{k.replace('_', ' ')}: {_inline(v)}" for k, v in items)
    elif isinstance(value, (list, tuple)):
        text = ", ".join(str(v) for v in value)
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _claim_rows(run: RunResult, anchors: dict[int, str]) -> list[tuple[ClaimResult, list[tuple[str, str]]]]:
    """Claims in verdict order (refuted first), each with links to the rows of the checks it rests on."""
    by_id: dict[str, list[Check]] = {}
    for check in run.all_checks():
        by_id.setdefault(check.id, []).append(check)
    rows = []
    for claim in sorted(run.claims, key=lambda c: CLAIM_ORDER.index(c.verdict)):
        links = []
        for check_id in claim.checks:
            candidates = by_id.get(check_id, [])
            mine = [c for c in candidates if claim.id in c.claims] or candidates
            failing = [c for c in mine if c.status in (Status.FAIL, Status.ERROR, Status.INCONCLUSIVE, Status.SKIPPED)]
            target = next(iter(failing or mine), None)
            if target is not None and id(target) in anchors:
                links.append((check_id, anchors[id(target)]))
        rows.append((claim, links))
    return rows


def _sorted_checks(suite: SuiteResult) -> list[Check]:
    return sorted(suite.checks, key=lambda c: (STATUS_ORDER.index(c.status), -c.severity.rank, c.id))


def _charts(run: RunResult) -> list[Markup]:
    """Latency and throughput over time for every suite with a time series; faults shaded."""
    bands = _fault_bands(run)
    markers = [Marker((g.fired_at - run.started_at).total_seconds(), f"guardrail {g.guardrail}")
               for g in (run.gameday.guardrails if run.gameday else [])]
    charts: list[Markup] = []
    for suite in run.suites:
        rows = [row for row in suite.timeseries if row.label == "all"]
        if not rows:
            continue
        offset = (suite.started_at - run.started_at).total_seconds()
        latency = {
            name: [(offset + r.t, getattr(r, attr)) for r in rows if getattr(r, attr) is not None]
            for name, attr in (("p50", "p50_ms"), ("p95", "p95_ms"), ("p99", "p99_ms"))
        }
        charts.append(Markup(line_chart(latency, title=f"{suite.name}: latency", y_label="ms", bands=bands,
                                        markers=markers)))
        throughput = {
            "achieved req/s": [(offset + r.t, r.rate) for r in rows],
            "errors/s": [(offset + r.t, float(r.errors)) for r in rows],
            "dropped/s": [(offset + r.t, float(r.dropped)) for r in rows],
        }
        charts.append(Markup(line_chart(throughput, title=f"{suite.name}: throughput", y_label="per s", bands=bands,
                                        markers=markers)))
    return charts


def _fault_bands(run: RunResult) -> list[Band]:
    """One shaded band per fault; overlapping faults of one experiment (an outage of every gateway's link)
    share a band named after the experiment, so their labels do not pile up."""
    groups: list[tuple[float, float, str | None, list[str]]] = []
    for fault in sorted(run.timeline, key=lambda f: f.started_at):
        start = (fault.started_at - run.started_at).total_seconds()
        end = ((fault.ended_at or run.finished_at or fault.started_at) - run.started_at).total_seconds()
        label = f"{fault.fault} → {fault.target}"
        if groups and fault.experiment and groups[-1][2] == fault.experiment and start <= groups[-1][1]:
            first, last, experiment, labels = groups[-1]
            groups[-1] = (first, max(last, end), experiment, [*labels, label])
        else:
            groups.append((start, end, fault.experiment, [label]))
    return [Band(start, end, labels[0] if len(labels) == 1 else f"{experiment}: {len(labels)} faults")
            for start, end, experiment, labels in groups]


def render_html(run: RunResult) -> str:
    from harness.verdict import judge

    totals: dict[str, int] = {status.value: 0 for status in Status}
    for suite in run.suites:
        for key, value in suite.counts().items():
            totals[key] += value
    suites = [(suite, _sorted_checks(suite)) for suite in run.suites]
    anchors = {id(check): f"check-{suite.name}-{index}" for suite, checks in suites
               for index, check in enumerate(checks, 1)}
    claim_counts = {verdict.value: sum(c.verdict == verdict for c in run.claims) for verdict in CLAIM_ORDER}
    context: dict[str, Any] = {
        "run": run,
        "reasons": (run.gate.blocking if run.gate else []) or judge(run, run.severity_threshold).reasons,
        "totals": totals,
        "suites": suites,
        "anchors": anchors,
        "claims": _claim_rows(run, anchors),
        "claim_counts": claim_counts,
        "findings": sorted(run.all_findings(), key=lambda f: (-f.severity.rank, f.check_id)),
        "charts": _charts(run),
        "duration": (run.finished_at - run.started_at).total_seconds() if run.finished_at else None,
    }
    return _environment().get_template("readiness.html.j2").render(**context)


class HtmlWriter(FileWriter):
    """``readiness.html``: one self-contained page."""

    name = "html"
    file_name = READINESS_HTML

    def write(self, run: RunResult, folder: Path) -> Path:
        path = folder / READINESS_HTML
        path.write_text(render_html(run))
        return path
