"""What every response says about itself: secure headers (by value), cookies and CORS."""

from harness.security.probes import cookies, cors, headers


def test_security_headers(probe_ctx, record_probes):
    record_probes(headers.run(probe_ctx))


def test_cookie_flags(probe_ctx, record_probes):
    record_probes(cookies.run(probe_ctx))


def test_cors(probe_ctx, record_probes):
    record_probes(cors.run(probe_ctx))
