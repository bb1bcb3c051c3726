"""Authentication and the JWT lifecycle (API2:2023)."""

from harness.security.probes import jwt


def test_jwt_lifecycle(probe_ctx, record_probes):
    record_probes(jwt.run(probe_ctx))
