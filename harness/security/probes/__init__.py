"""Probe modules; importing this package registers every rule in ``harness.security.catalog``."""

from harness.security.probes import (  # noqa: F401
    authz,
    cookies,
    cors,
    csrf,
    errors,
    headers,
    injection,
    jwt,
    ratelimit,
    resources,
    ssrf,
)

GROUPS = {
    "headers": headers.run,
    "cookies": cookies.run,
    "cors": cors.run,
    "csrf": csrf.run,
    "injection": injection.run,
    "jwt": jwt.run,
    "authz": authz.run,
    "resources": resources.run,
    "ssrf": ssrf.run,
    "errors": errors.run,
    "ratelimit": ratelimit.run,
}
