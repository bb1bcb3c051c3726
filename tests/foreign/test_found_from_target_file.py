"""Each foreign app, from its target file alone (URL, login, identities; the spec as its framework
generates it): every listed defect is a finding, no check passes on a 429, and the clean twin has no
high or critical finding.

The apps' defect lists are their ``DEFECTS`` tables (documented in each module's docstring).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.foreign import shop_app, tickets_app
from tests.foreign.conftest import checks, failed_findings, missing_defects, run_harness

pytestmark = [pytest.mark.integration, pytest.mark.slow]
THROTTLED = {429, 503}
MEASURES_THROTTLING = ("security.ratelimit.", "security.auth.bruteforce")  # their evidence *is* the 429

APPS = {
    # name: (module, start(defects) -> context manager yielding the base URL)
    "shop": (shop_app, lambda defects: shop_app.serve(shop_app.make_app(defects))),
    "tickets": (tickets_app, lambda defects: tickets_app.serve(tickets_app.make_app(defects, ttl_s=20))),
}


def passes_on_throttled_evidence(report: dict) -> list[str]:
    """Passed checks whose every sample was a 429/503: a pass that rests on throttling."""
    bad = []
    for check in checks(report):
        if check["id"].startswith(MEASURES_THROTTLING):
            continue
        statuses = [s.get("status_code") for s in check["evidence"].get("samples", []) if s.get("status_code")]
        if check["status"] == "pass" and statuses and all(code in THROTTLED for code in statuses):
            bad.append(f"{check['id']}: {check['message']}")
    return bad


@pytest.mark.parametrize("name", sorted(APPS))
def test_every_listed_defect_is_found_from_the_target_file_alone(name: str, tmp_path: Path) -> None:
    module, start = APPS[name]
    with start(set(module.DEFECTS)) as base_url:
        code, report, output = run_harness(module.target_file(base_url), tmp_path, "--suite", "security")
    assert report, output
    missing = missing_defects(report, module.DEFECTS)
    found = len(module.DEFECTS) - len(missing)
    print(f"{name}: {found} of {len(module.DEFECTS)} listed defects found")
    assert not missing, f"{name}: not found: {missing}\n" + "\n".join(
        f"{f['check_id']} {f['location']}: {f['title']}" for f in failed_findings(report))
    assert code == 1, output  # not ready
    assert passes_on_throttled_evidence(report) == []


@pytest.mark.parametrize("name", sorted(APPS))
def test_the_clean_twin_has_no_high_or_critical_finding(name: str, tmp_path: Path) -> None:
    module, start = APPS[name]
    with start(set()) as base_url:
        _code, report, output = run_harness(module.target_file(base_url), tmp_path, "--suite", "security")
    assert report, output
    severe = [f"{f['check_id']} ({f['severity']}) {f['location']}: {f['title']}" for f in failed_findings(report)
              if f["severity"] in ("high", "critical")]
    assert severe == [], "\n".join(severe)
    errors = [f"{c['id']}: {c['message']}" for c in checks(report) if c["status"] == "error"]
    assert errors == [], errors
    assert passes_on_throttled_evidence(report) == []
