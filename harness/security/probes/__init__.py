"""Probe modules; importing this package registers every rule in ``harness.security.catalog``."""

from harness.security.probes import (  # noqa: F401
    authz,
    cookies,
    cors,
    csrf,
    errors,
    exposure,
    facts,
    headers,
    injection,
    jwt,
    login,
    privilege,
    ratelimit,
    redos,
    resources,
    ssrf,
    tokens,
)

GROUPS = {
    "headers": headers.run,
    "cookies": cookies.run,
    "cors": cors.run,
    "csrf": csrf.run,
    "injection": injection.run,
    "jwt": jwt.run,
    "login": login.run,
    "tokens": tokens.run,
    "redos": redos.run,
    "authz": authz.run,
    "resources": resources.run,
    "ssrf": ssrf.run,
    "errors": errors.run,
    "ratelimit": ratelimit.run,
}
