"""The HTML report: self-contained, shows the verdict, checks and charts, and renders in Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from harness.gate.evaluate import apply_gate
from harness.gate.policy import Policy
from harness.model import LoadSecond, Severity, Status
from harness.report.html import HtmlWriter
from harness.report.svg import Band, line_chart
from tests.test_model import make_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def rendered(tmp_path: Path) -> Path:
    run = make_run()
    run.finished_at = run.started_at + timedelta(seconds=30)
    apply_gate(run, Policy(severity_threshold=Severity.MEDIUM))
    load = run.suite("load")
    load.started_at = run.started_at
    load.timeseries = [LoadSecond(t=t, requests=20, rate=20.0, errors=t // 10, p50_ms=10 + t, p95_ms=20 + t,
                                  p99_ms=40 + t) for t in range(30)]
    run.timeline[0].started_at = run.started_at + timedelta(seconds=10)
    run.timeline[0].ended_at = run.started_at + timedelta(seconds=15)
    return HtmlWriter().write(run, tmp_path)


def test_report_is_self_contained(tmp_path):
    html = rendered(tmp_path).read_text()
    urls = set(re.findall(r"(?:src|href)=\"([^\"]+)\"", html))
    assert urls == set(), f"external resources: {urls}"
    external = [u for u in re.findall(r"https?://[^\s\"'<]+", html) if u != "http://www.w3.org/2000/svg"]
    assert all(u.startswith("http://127.0.0.1") for u in external), external
    assert "<script" not in html


def banner(html: str) -> tuple[str, str]:
    """The verdict banner's class and headline."""
    match = re.search(r'<div class="banner (v-[a-z_]+)" id="verdict">\s*<h1>([^<]+)</h1>', html)
    assert match, "no verdict banner"
    return match.group(1), match.group(2)


def test_report_shows_verdict_checks_charts_and_environment(tmp_path):
    html = rendered(tmp_path).read_text()
    assert banner(html) == ("v-not_ready", "NOT READY")  # the failed high check blocks
    assert "security.headers.hsts" in html and "HSTS" in html
    assert html.count("<svg") == 2  # latency and throughput
    assert 'class="band"' in html  # the fault injection is shaded
    assert "kill → gateway-1" in html
    assert "Environment" in html and "3.11" in html


def test_the_banner_follows_the_verdict(tmp_path):
    run = make_run()
    run.suite("security").checks[0].status = Status.PASS
    apply_gate(run, Policy(severity_threshold=Severity.MEDIUM))
    assert banner(HtmlWriter().write(run, tmp_path).read_text()) == ("v-ready", "READY")


def test_secrets_in_evidence_never_reach_the_page(tmp_path):
    html = rendered(tmp_path).read_text()  # make_run's curl carries "Authorization: Bearer abc.def.ghi"
    assert "abc.def.ghi" not in html
    assert "Bearer &lt;redacted&gt;" in html, "the redaction is shown, escaped, never as raw markup"
    assert "<redacted>" not in html


def test_untrusted_text_is_escaped(tmp_path):
    run = make_run()
    run.suite("security").checks[0].message = "<script>alert(1)</script>"
    html = HtmlWriter().write(run, tmp_path).read_text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run does)")
def test_report_renders_in_headless_chromium(tmp_path):
    page = rendered(tmp_path)
    screenshot = tmp_path / "report.png"
    profile = tmp_path / "chromium-profile"
    shot = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={screenshot}",
         "--window-size=1280,1600", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert screenshot.is_file() and screenshot.stat().st_size > 20_000, shot.stderr[-2000:]
    dom = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    ).stdout
    assert "security.headers.hsts" in dom and "<svg" in dom
    statuses = re.findall(r'data-status="([a-z_]+)"', dom)
    assert Status.FAIL.value in statuses


def test_a_fault_band_near_the_right_edge_keeps_its_label_inside_the_plot() -> None:
    svg = line_chart({"p95": [(float(t), 50.0) for t in range(120)]}, title="latency", y_label="ms", width=600,
                     bands=[Band(2, 10, "kill → gateway-1"), Band(110, 120, "gpu_loss:0 → inference-gpu")])
    early, late = re.findall(r'<text x="([\d.]+)" y="[\d.]+" class="band-label"( text-anchor="end")?>', svg)
    assert early[1] == "" and float(early[0]) < 100  # starts after the band's left edge
    assert late[1] and float(late[0]) <= 600 - 16  # ends inside the plot instead of running off it
