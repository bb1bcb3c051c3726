"""The traffic allowlist: load, attacks and chaos go only to allowed hosts.

Loopback (127.0.0.0/8, ::1, ``localhost``) is always allowed; anything else must be named
with ``--allow-host``. The check runs before any request is sent.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from harness.errors import DisallowedHostError, UsageError

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def host_of(url_or_host: str) -> str:
    """The bare host of a URL or ``host[:port]`` string, lower-cased, brackets removed."""
    text = url_or_host.strip()
    if "://" not in text:
        text = "//" + text
    try:
        host = urlsplit(text).hostname
    except ValueError as exc:
        raise UsageError(f"cannot parse host from {url_or_host!r}: {exc}") from None
    if not host:
        raise UsageError(f"no host in {url_or_host!r}: give a URL like http://127.0.0.1:8000")
    return host.lower()


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_allowed(url_or_host: str, allow_hosts: Iterable[str] = ()) -> bool:
    host = host_of(url_or_host)
    return is_loopback(host) or host in {host_of(h) for h in allow_hosts}


def ensure_allowed(url_or_host: str, allow_hosts: Iterable[str] = ()) -> None:
    """Raise ``DisallowedHostError`` (exit 4) unless the target host is allowed."""
    allow = list(allow_hosts)
    if not is_allowed(url_or_host, allow):
        host = host_of(url_or_host)
        raise DisallowedHostError(
            f"refusing to send traffic to {host!r}: only loopback is allowed by default; "
            f"if you own this system, re-run with --allow-host {host}"
        )


def ensure_urls_allowed(urls: Iterable[str | None], allow_hosts: Iterable[str] = ()) -> None:
    """``ensure_allowed`` for each given http(s) URL (``None`` and file paths need no network)."""
    allow = list(allow_hosts)
    for url in urls:
        if url and url.lower().startswith(("http://", "https://")):
            ensure_allowed(url, allow)
