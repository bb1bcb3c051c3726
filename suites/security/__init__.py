"""The security suite: OWASP API Top 10 (2023) probes from the target's OpenAPI spec and identities."""

from pathlib import Path

from harness.suites import SuiteSpec

# Its inputs are read before anything starts by harness.preflight: the policy (with its security section)
# and the run's claims file (the numbers claims ask the probes to verify); it has no file of its own.
SUITE = SuiteSpec(
    name="security",
    path=Path(__file__).parent,
    description="OWASP API Top 10 probes with evidence: headers, cookies, CORS, CSRF, injection, JWT lifecycle, "
    "authorization matrix (BOLA/BFLA/mass assignment/exposure), rate-limit claim, resources, SSRF, error leakage; "
    "findings -> SARIF",
    default_profile="smoke",
    order=30,
    # The claim verified is "expired access tokens are refused", not the 300 s lifetime: a short TTL lets
    # security.auth.expired wait a token out within the smoke budget. The rate limit stays at its production
    # 100/60 s (the claim under test); its window check needs ~2.7 windows, so it runs in profile full.
    platform_env={"REFSYS_ACCESS_TTL_S": "5"},
)
