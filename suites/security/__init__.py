"""The security suite: OWASP API Top 10 (2023) probes from the target's OpenAPI spec and identities."""

from pathlib import Path

from harness.suites import SuiteSpec

SUITE = SuiteSpec(
    name="security",
    path=Path(__file__).parent,
    description="OWASP API Top 10 probes with evidence: headers, cookies, CORS, CSRF, injection, JWT lifecycle, "
    "authorization matrix (BOLA/BFLA/mass assignment/exposure), rate-limit claim, resources, SSRF, error leakage; "
    "findings -> SARIF",
    default_profile="smoke",
    order=30,
)
