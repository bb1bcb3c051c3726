"""The small grammar of numbers in status reports: rates, windows, durations, percentiles, header lines.

Written by hand: no maintained library parses "1000 req/15min general, 5 req/15min auth" or
"P95 Response Time: < 500ms"; each function returns plain values and is tested on the seeds' forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNIT_S = {"ms": 0.001, "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "mins": 60,
          "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
          "d": 86400, "day": 86400, "days": 86400}
_UNIT = r"(?:ms|secs?|seconds?|s|mins?|minutes?|m|hrs?|hours?|h|days?|d)"
_NUMBER = r"\d[\d,]*(?:\.\d+)?"
SUBJECTS = {"user": "user", "users": "user", "account": "user", "token": "user", "ip": "ip", "ip address": "ip",
            "client": "client", "key": "client", "api key": "client", "global": "global"}

RATE = re.compile(
    rf"(?P<n>{_NUMBER})\s*(?:req(?:uest)?s?|calls?|hits?)?\s*(?:/|per\s+|an?\s+)\s*(?P<k>\d+)?\s*(?P<unit>{_UNIT})\b"
    r"(?:\s*(?:/|per\s+)\s*(?P<subject>ip address|api key|users?|account|token|ip|client|key))?"
    r"(?:\s+(?P<scope>[a-z]+))?", re.IGNORECASE)
PERCENTILE = re.compile(r"\bp\s?(?P<pct>50|95|99(?:\.9)?|999)\b", re.IGNORECASE)
BOUND = re.compile(rf"(?:<=?|≤|under|below|less than|within|max(?:imum)?:?)\s*(?P<v>{_NUMBER})\s*(?P<unit>ms|s|sec|seconds?)\b",
                   re.IGNORECASE)
AT_RATE = re.compile(rf"\b(?:at|@|with)\s*(?P<v>{_NUMBER})\s*(?:req(?:uest)?s?/s(?:ec(?:ond)?)?|rps|requests per second)",
                     re.IGNORECASE)
MIN_RATE = re.compile(rf"(?:>=?|≥|over|above|at least)\s*(?P<v>{_NUMBER})\s*(?:req(?:uest)?s?\s*/\s*s(?:ec(?:ond)?)?|rps|"
                      r"requests?\s*(?:/|per)\s*s(?:ec(?:ond)?)?)", re.IGNORECASE)
PERCENT_BOUND = re.compile(r"(?:<=?|≤|under|below|less than)\s*(?P<v>\d+(?:\.\d+)?)\s*%")
OPERATION = re.compile(r"\b(?P<method>GET|POST|PUT|PATCH|DELETE|HEAD)\s+`?(?P<path>/[\w\-/{}.:]*)", re.IGNORECASE)
DURATION = re.compile(rf"(?P<v>{_NUMBER})\s*-?\s*(?P<unit>{_UNIT})\b", re.IGNORECASE)
ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(?::\d+)?(?=[\s,;)\]'\"`]|$)")
ARROW_STATES = re.compile(r"(closed|open|half[-_ ]?open)(?:\s*(?:→|->|=>|to)\s*(closed|open|half[-_ ]?open))+",
                          re.IGNORECASE)
STATE_WORD = re.compile(r"half[-_ ]?open|closed|open", re.IGNORECASE)
MIN_AVAILABLE = re.compile(r"minAvailable\s*[:=]\s*(\d+)", re.IGNORECASE)
RETRY_SPEC = re.compile(rf"(?P<attempts>\d+)\s*(?:attempts|retries|tries)(?:\s*,\s*(?P<lo>{_NUMBER})\s*(?P<lu>{_UNIT})?\s*"
                        rf"(?:-|–|to)\s*(?P<hi>{_NUMBER})\s*(?P<hu>{_UNIT}))?", re.IGNORECASE)

SECURITY_HEADERS = (
    "content-security-policy", "strict-transport-security", "x-content-type-options", "x-frame-options",
    "x-xss-protection", "referrer-policy", "permissions-policy", "feature-policy", "cross-origin-embedder-policy",
    "cross-origin-opener-policy", "cross-origin-resource-policy", "cache-control", "x-permitted-cross-domain-policies",
)
HEADER_LINE = re.compile(r"^(?:[^\w]*\s*)?(?P<name>[A-Za-z]+(?:-[A-Za-z]+)+)\s*:\s*(?P<value>\S.*)$")
HEADER_ABBREVIATIONS = {
    "csp": "content-security-policy", "content security policy": "content-security-policy",
    "hsts": "strict-transport-security", "xss protection": "x-xss-protection", "x-xss-protection": "x-xss-protection",
    "x-frame-options": "x-frame-options", "clickjacking": "x-frame-options", "nosniff": "x-content-type-options",
    "x-content-type-options": "x-content-type-options", "referrer-policy": "referrer-policy",
    "referrer policy": "referrer-policy", "permissions-policy": "permissions-policy",
}


def number(text: str) -> float:
    return float(text.replace(",", ""))


def seconds(value: str, unit: str | None) -> float:
    return number(value) * UNIT_S.get((unit or "s").lower(), 1)


@dataclass(frozen=True)
class Rate:
    limit: int
    window_s: float
    per: str | None
    scope: str | None  # a word after the rate: "general", "auth", ...


def rates(text: str) -> list[Rate]:
    """``100 req/min/user`` · ``1000 req/15min general, 5 req/15min auth`` · ``100 requests per minute per IP``."""
    found = []
    for match in RATE.finditer(text):
        unit = match.group("unit").lower()
        if unit == "ms" or (match.group("k") is None and unit in ("m", "s", "d", "h") and "/" not in match.group(0)
                            and "per" not in match.group(0).lower()):
            continue  # "5 m" alone is a distance or a duration, not a rate
        window = seconds(match.group("k") or "1", unit)
        subject = (match.group("subject") or "").lower()
        scope = (match.group("scope") or "").lower() or None
        per = SUBJECTS.get(subject) or (SUBJECTS.get(scope or "") if scope in ("user", "ip", "client") else None)
        if per is None and re.search(r"\bper[- ]user\b", text, re.IGNORECASE):
            per = "user"
        found.append(Rate(limit=int(number(match.group("n"))), window_s=window, per=per, scope=scope))
    return found


def percentile_bounds(text: str) -> list[tuple[float, float]]:
    """``P95 < 500ms`` · ``Response Time (P95): < 500ms`` -> [(95, 500.0)] (milliseconds)."""
    out = []
    for pct in PERCENTILE.finditer(text):
        bound = BOUND.search(text, pct.end())
        if bound:
            value = seconds(bound.group("v"), bound.group("unit")) * 1000
            raw = pct.group("pct")
            out.append((99.9 if raw in ("99.9", "999") else float(raw), value))
    return out


def breaker_states(text: str) -> list[str] | None:
    match = ARROW_STATES.search(text)
    if not match:
        return None
    return [re.sub(r"[-_ ]", "_", word.lower()) for word in STATE_WORD.findall(match.group(0))]


def duration_after(text: str, words: str) -> float | None:
    """The first duration after one of ``words`` (``recovery timeout 30s``, ``recover within 20 s``)."""
    match = re.search(rf"(?:{words})\D{{0,20}}?(?P<v>{_NUMBER})\s*(?P<unit>{_UNIT})\b", text, re.IGNORECASE)
    return seconds(match.group("v"), match.group("unit")) if match else None


def header_line(text: str) -> tuple[str, str] | None:
    """``✅ X-Frame-Options: DENY`` -> ("x-frame-options", "DENY") for known security headers."""
    match = HEADER_LINE.match(text.strip().strip("*").strip())
    if not match or match.group("name").lower() not in SECURITY_HEADERS:
        return None
    return match.group("name").lower(), match.group("value").strip().strip("`").strip()


def named_headers(text: str) -> list[str]:
    """Headers named without values: ``security headers (CSP, HSTS, XSS protection)``."""
    lowered = text.lower()
    return list(dict.fromkeys(name for word, name in HEADER_ABBREVIATIONS.items()
                              if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", lowered)))
