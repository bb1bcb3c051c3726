"""``harness claims extract`` on the five real status reports (copied from shared/seeds into tests/claims/seeds).

For each report: the testable claims it makes are found with their numbers, and every other line that
states something is listed as an untestable claim quoting that line, so the whole document is accounted
for. The structure lines that carry no claim are checked to be structure (a heading without a status, a
table header, a line inside a code block, a caption).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.claims.extract import LineRecord, extract_lines
from harness.claims.extract.text import repair
from harness.claims.model import Claim, ClaimsFile
from harness.cli import main

SEEDS = Path(__file__).with_name("seeds")
FILES = {
    "roadmap": "000_a7512e75a9405ae1.txt",
    "revoagent": "001_8d04627a7894020e.txt",
    "iac_dharma": "002_f4ae28ef3ccc4221.txt",
    "todo": "003_a37d50a9519a9a11.txt",
    "aion": "004_9537df9a2259241f.txt",
}


def extract(name: str) -> tuple[ClaimsFile, list[LineRecord], list[str]]:
    text = (SEEDS / FILES[name]).read_text(encoding="utf-8")
    claims, records = extract_lines(text, FILES[name])
    return claims, records, repair(text).split("\n")


def claims_by_line(claims: ClaimsFile) -> dict[int, list[Claim]]:
    out: dict[int, list[Claim]] = {}
    for claim in claims.testable():
        out.setdefault(claim.source.line or 0, []).append(claim)
    return out


def assert_whole_document_accounted_for(claims: ClaimsFile, records: list[LineRecord], lines: list[str]) -> None:
    assert [r.number for r in records] == list(range(1, len(lines) + 1))  # one record per line, none skipped
    by_id = {c.id: c for c in claims.claims}
    drawn = [cid for r in records for cid in r.claims]
    assert sorted(drawn) == sorted(by_id), "every claim comes from exactly one line, every line's claims exist"
    in_fence = False
    for record, line in zip(records, lines, strict=True):
        stripped = line.strip()
        if stripped.startswith("```"):
            in_fence = not in_fence
        if record.structure is None:  # a claim-bearing line: one claim or more, each quoting it
            assert record.claims, f"line {record.number} dropped: {line!r}"
            for cid in record.claims:  # the text as written (a table row: its cells, without the padding)
                assert by_id[cid].source.line == record.number
                assert all(part in stripped for part in by_id[cid].text.split(" | ")), (by_id[cid].text, line)
            continue
        assert not record.claims
        structure = {  # what each kind of non-claim line must look like
            "blank": stripped == "",
            "rule": re.fullmatch(r"-{3,}", stripped) is not None,
            "fence": stripped.startswith("```"),
            "code listing": in_fence and "✅" not in line,
            "heading": stripped.startswith("#") and "✅" not in line and "COMPLETE" not in line,
            "table_header": stripped.startswith("|"),
            "table_rule": set(stripped) <= set("|-: "),
            "label": stripped.endswith((":", ":**")) and len(stripped) < 70,
            "no words": not re.search(r"[A-Za-z]{2}", stripped),
        }[record.structure]
        assert structure, f"line {record.number} is no {record.structure}: {line!r}"


def untested_reason(claims: ClaimsFile, line: int) -> str:
    [claim] = [c for c in claims.claims if c.source.line == line]
    assert claim.untestable, f"line {line} should be untestable: {claim}"
    return claim.untestable


def test_roadmap_status_000():
    claims, records, lines = extract("roadmap")
    assert_whole_document_accounted_for(claims, records, lines)
    found = claims_by_line(claims)
    assert sorted(found) == [13, 14, 20, 21, 34, 41, 49, 50, 58, 67, 239, 241, 242, 244, 248, 249, 251, 252]
    for line in (14, 241):  # "Rate limiting (100 req/min/user)", in the table and again in the checklist
        [rate] = found[line]
        assert rate.params.rate_limit is not None
        limit = rate.params.rate_limit
        assert (limit.limit, limit.window_s, limit.per) == (100, 60, "user")
        assert "security.ratelimit.per_user" in rate.verify
    assert found[13][0].params.token.refresh and "security.auth.refresh_reuse" in found[13][0].verify
    assert found[49][0].params.breaker.states == ("closed", "open", "half_open")
    retry = found[50][0].params.retry
    assert (retry.attempts, retry.min_delay_s, retry.max_delay_s) == (5, 1, 60)  # "5 attempts, 1s-60s"
    assert found[20][0].verify == ["security.csrf.*"] and found[242][0].verify == ["security.injection.sqli"]
    for line, check in ((34, "kubernetes.pdb.*"), (41, "kubernetes.gpu.placement"), (244, "kubernetes.networkpolicy.*")):
        assert found[line][0].verify == [check] and found[line][0].platforms == ["kind"]
    assert found[67][0].verify[0] == "chaos.gpu_loss.hypothesis"  # Primary→Secondary→Tertiary: a fallback chain
    assert "encryption at rest" in untested_reason(claims, 16)  # AES-256 at rest
    assert "transport" in untested_reason(claims, 15)  # TLS 1.3 inter-service
    assert "tests" in untested_reason(claims, 85)  # "Load testing (1000 users)" is about their tests
    assert "planned" in untested_reason(claims, 286)  # "Invite beta users", under Next Steps
    [uat] = [c for c in claims.claims if c.source.line == 266]  # "[ ] UAT in staging (pending deployment)"
    assert uat.status == "planned" and "tests" in (uat.untestable or "")


def test_revoagent_status_001():
    claims, records, lines = extract("revoagent")
    assert_whole_document_accounted_for(claims, records, lines)
    found = claims_by_line(claims)
    headers = {line: found[line][0].params.headers.values for line in range(38, 48)}
    assert headers[39] == {"x-frame-options": "DENY"}
    assert headers[41] == {"strict-transport-security": "max-age=31536000; includeSubDomains; preload"}
    assert headers[42] == {"content-security-policy": "default-src 'self'; script-src 'self' 'unsafe-inline'..."}
    assert all(found[line][0].verify == ["security.headers.claimed"] for line in headers)
    for line in (16, 28, 66, 203, 227):  # "OWASP security headers": the OWASP recommendations, by value
        assert "security.headers.csp" in found[line][0].verify
    assert found[33][0].category == "cors"  # whitelist-based origin control
    for line in (18, 112, 115, 116, 128, 295):
        assert "chaos.*.breaker_cycle" in found[line][0].verify
    assert found[117][0].verify == ["chaos.*.retry_jitter"]
    assert {"chaos.*.breaker_cycle", "chaos.gpu_loss.hypothesis"} <= set(found[204][0].verify)  # breakers + fallback
    assert found[252][0].status == "planned"  # "Next 2 weeks: fine-tune circuit breaker thresholds"
    assert sorted(found) == [16, 18, 28, 33, *range(38, 48), 66, 112, 115, 116, 117, 118, 125, 128, 145, 203, 204,
                             227, 252, 295]
    assert "not observable" in untested_reason(claims, 164)  # "Encryption: AES-256 encryption for sensitive data"
    assert "availability" in untested_reason(claims, 144)  # "99.9% uptime during external service failures"
    assert "states no limit" in untested_reason(claims, 32)  # "Rate Limiting Middleware with configurable thresholds"
    assert "score" in untested_reason(claims, 23)  # "After: 96.8% Production Ready"


def test_iac_dharma_status_002_despite_its_mojibake():
    claims, records, lines = extract("iac_dharma")
    assert lines[2] == "## ✅ ALL FEATURES IMPLEMENTED"  # was "## âœ… ALL FEATURES IMPLEMENTED"
    assert_whole_document_accounted_for(claims, records, lines)
    found = claims_by_line(claims)
    general, auth = found[19]  # "Rate limiting (1000 req/15min general, 5 req/15min auth)": two claims
    limit = general.params.rate_limit
    assert (limit.limit, limit.window_s, limit.per) == (1000, 900, None)
    assert general.id.endswith("-general") and "security.ratelimit.per_user" not in general.verify
    assert (auth.params.login_attempts.max_failures, auth.params.login_attempts.window_s) == (5, 900)
    assert auth.verify == ["security.auth.bruteforce"] and auth.id.endswith("-auth")
    for line in (279, 364):  # "P95 Response Time: < 500ms" and "**Response Time (P95):** < 500ms"
        latency = found[line][0].params.latency
        assert (latency.percentile, latency.max_ms, latency.operation) == (95, 500, None)
        assert found[line][0].verify == ["load.*.p95.all"]
    for line in (280, 365):  # "> 5000 req/sec", "> 5,000 requests/second"
        assert found[line][0].params.throughput.min_rps == 5000
    assert found[281][0].params.error_rate.max_ratio == pytest.approx(0.01)
    assert found[17][0].params.headers.values == {"content-security-policy": None, "strict-transport-security": None,
                                                  "x-xss-protection": None}
    assert found[105][0].params.pdb.min_available == 2  # PodDisruptionBudget (minAvailable: 2)
    assert found[384][0].verify == ["security.injection.sqli", "security.injection.nosql", "security.injection.xss"]
    assert found[68][0].verify == ["load.*.metrics.*"] and found[402][0].verify == ["load.*.health.*"]
    assert sorted(found) == [17, 18, 19, 20, 22, 25, 27, 28, 68, 88, 104, 105, 106, 118, 158, 279, 280, 281, 364, 365,
                             369, 381, 382, 384, 385, 390, 402, 443, 455]
    assert "Kubernetes RBAC" in untested_reason(claims, 389)  # "RBAC in Kubernetes" is not the API's RBAC
    assert "states no limit" in untested_reason(claims, 383)  # "Rate limiting (general + auth)"
    assert "availability" in untested_reason(claims, 366)  # 99.9% uptime


def test_todo_roadmap_003_is_planned_not_claimed():
    claims, records, lines = extract("todo")
    assert "(closed → open → half-open → closed)" in lines[72]  # was "(closed ‚Üí open ‚Üí half-open ‚Üí closed)"
    assert_whole_document_accounted_for(claims, records, lines)
    found = claims_by_line(claims)
    assert sorted(found) == [15, 22, 31, 37, 54, 64, 65, 66, 67, 69, 72, 73, 75, 77, 234]
    assert all(c.status == "planned" for cs in found.values() for c in cs)  # every one of them is a goal (❌, [ ])
    assert found[73][0].params.breaker.states == ("closed", "open", "half_open", "closed")
    assert found[77][0].verify[0] == "chaos.gpu_loss.hypothesis"  # graceful degradation during outages
    done = [c for c in claims.claims if c.status == "claimed" and c.source.line and 167 <= c.source.line <= 200]
    assert len(done) >= 20  # "Implementation Foundations (Already Complete)" is claimed as done
    assert "risk" in untested_reason(claims, 274)  # the risk table row on circuit breaker false positives


def test_aion_completion_summary_004():
    claims, records, lines = extract("aion")
    assert_whole_document_accounted_for(claims, records, lines)
    found = claims_by_line(claims)
    assert sorted(found) == [26, 271, 272, 273]
    assert all(found[line][0].verify == ["load.*.metrics.*"] for line in found)
    assert "tests" in untested_reason(claims, 300)  # "98+ tests (exceeds 95% coverage requirement)"
    assert "count" in untested_reason(claims, 16)  # "Total Lines Added: 9,000+ lines"
    untestable = [c for c in claims.claims if c.untestable]
    assert len(untestable) > 200  # a completion summary is mostly claims about files, commits and tests


def test_the_command_writes_a_claims_file_that_loads(tmp_path, capsys):
    out = tmp_path / "claims.yaml"
    assert main(["claims", "extract", str(SEEDS / FILES["roadmap"]), "-o", str(out)]) == 0
    from harness.claims.model import load_claims_file

    loaded = load_claims_file(out)
    assert loaded == extract("roadmap")[0]  # YAML round trip loses nothing
    assert main(["claims", "extract", str(tmp_path / "missing.md")]) == 4
