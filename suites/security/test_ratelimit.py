"""Claims that spend a budget on the target; the suite's conftest runs this file last."""

from harness.security.probes import jwt, ratelimit


def test_rate_limit_claim(probe_ctx, record_probes):
    record_probes(ratelimit.run(probe_ctx))


def test_login_bruteforce(probe_ctx, record_probes):
    record_probes(jwt.bruteforce(probe_ctx))
