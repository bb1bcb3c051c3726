"""CSRF on cookie-session operations (not applicable to bearer-only APIs)."""

from harness.security.probes import csrf


def test_csrf(probe_ctx, record_probes):
    record_probes(csrf.run(probe_ctx))
