"""Probes that spend a budget on the target or need time to pass; the suite's conftest runs this file last.

Expired tokens first (they had the whole run to expire), then brute force (the login limit, before the
rate-limit probe's traffic throttles every client), then the rate limit itself.
"""

from harness.security.probes import facts, login, ratelimit, tokens


def test_expired_tokens_replayed(probe_ctx, record_probes):
    record_probes([tokens.expired_replay(probe_ctx)])


def test_login_bruteforce(probe_ctx, record_probes):
    record_probes(login.bruteforce(probe_ctx))


def test_rate_limit_claim(probe_ctx, record_probes):
    record_probes(ratelimit.run(probe_ctx))


def test_what_was_declared_and_what_was_learned(probe_ctx, record_probes):
    record_probes(facts.run(probe_ctx))
