"""The authorization matrix: every operation x every identity (API1, API3, API5:2023)."""

from harness.security.probes import authz


def test_authorization_matrix(probe_ctx, record_probes):
    record_probes(authz.run(probe_ctx))
