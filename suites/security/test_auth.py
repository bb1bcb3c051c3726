"""Authentication: the JWT lifecycle, the login's answers and what a captured token gives away (API2:2023)."""

from harness.security.probes import jwt, login, tokens


def test_jwt_lifecycle(probe_ctx, record_probes):
    record_probes(jwt.run(probe_ctx))


def test_login_does_not_enumerate_users(probe_ctx, record_probes):
    record_probes(login.run(probe_ctx))


def test_token_signing_secret(probe_ctx, record_probes):
    record_probes(tokens.run(probe_ctx))
