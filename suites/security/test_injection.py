"""Injection on every parameter of the spec (SQL, NoSQL, XSS, traversal, SSTI, CRLF)."""

from harness.security.probes import injection


def test_injection(probe_ctx, record_probes):
    record_probes(injection.run(probe_ctx))
