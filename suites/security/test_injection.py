"""Injection on every parameter of the spec (SQL, NoSQL, XSS, traversal, SSTI, CRLF) and ReDoS on patterns."""

from harness.security.probes import injection, redos


def test_injection(probe_ctx, record_probes):
    record_probes(injection.run(probe_ctx))


def test_redos_on_pattern_fields(probe_ctx, record_probes):
    record_probes(redos.run(probe_ctx))
