"""What a captured token gives away: a guessable HMAC key, and whether the system still takes it once expired.

- ``weak_secret``: an HS256/384/512 token's signature is recomputed offline with a list of secrets people
  actually ship (``weak_secrets.txt``) plus ones derived from the API's own name; a match is proven by
  a token the harness signs itself (``role`` unchanged) being accepted. No request per guess.
- ``expired_replay``: every JWT the probes obtain is kept in ``<state dir>/captured-tokens.json``
  (``HARNESS_STATE_DIR`` or ``./.harness``, mode 0600). At the end of a run, tokens of this target whose
  ``exp`` (+ the leeway allowance) has passed - from this run or an earlier one - are sent again: acceptance
  is the finding. A token that lives a day proves nothing in one smoke run; the next run replays it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from pathlib import Path
from typing import Any

from harness.login import LoginFailed
from harness.model import Evidence, Severity
from harness.security.auth import jwt_parts
from harness.security.catalog import Outcome, ProbeGroup, rule
from harness.security.client import curl, sample
from harness.security.context import ProbeContext
from harness.security.probes.jwt import API2, DEFAULT_LEEWAY_S, _with_token, probe_operation

WEAK = rule("security.auth.weak_secret", "Tokens are not signed with a guessable HMAC secret", Severity.CRITICAL,
            "API2:2023", ("CWE-798", "CWE-521"), "Sign HS256 tokens with a random key of at least 256 bits from a "
            "secret store (or use an asymmetric algorithm); rotate the guessed one now.")
# its own id beside security.auth.expired (a token waited out within the run): both can fail on one
# operation, and one id would give both findings one fingerprint
EXPIRED_REPLAY = rule("security.auth.expired_replay", "A token kept past its expiry (this run's or an earlier "
                      "run's) is refused", Severity.HIGH, API2, "CWE-613",
                      "Validate exp on every request with a small leeway (seconds, not minutes).")
WORDLIST = Path(__file__).with_name("weak_secrets.txt")
HMAC_ALGORITHMS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
STORE_NAME = "captured-tokens.json"
MAX_STORED, MAX_REPLAYED = 60, 4
FORGET_AFTER_S = 14 * 86_400


def candidate_secrets(ctx: ProbeContext) -> list[str]:
    words = [w.strip() for w in WORDLIST.read_text().splitlines() if w.strip() and not w.startswith("#")]
    title = str((ctx.spec.document.get("info") or {}).get("title") or "").strip().lower().replace(" ", "-")
    if title:
        for stem in {title, title.replace("-", "_"), title.replace("-", "")}:
            words += [stem, f"{stem}-secret", f"{stem}_secret", f"{stem}secret", f"{stem}-key", f"{stem}123",
                      f"{stem}-jwt-secret", f"{stem}_jwt_secret", f"secret-{stem}"]
    return list(dict.fromkeys(words))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signs(token: str, secret: str) -> bool:
    head, _, rest = token.partition(".")
    payload, _, signature = rest.partition(".")
    parts = jwt_parts(token)
    digest = HMAC_ALGORITHMS.get(str(parts[0].get("alg")) if parts else "")
    if digest is None:
        return False
    expected = hmac.new(secret.encode(), f"{head}.{payload}".encode(), digest).digest()
    return hmac.compare_digest(_b64url(expected), signature)


def sign(header: dict[str, Any], payload: dict[str, Any], secret: str) -> str:
    head = _b64url(json.dumps(header, separators=(",", ":")).encode())
    body = _b64url(json.dumps(payload, separators=(",", ":")).encode())
    digest = HMAC_ALGORITHMS[str(header["alg"])]
    return f"{head}.{body}.{_b64url(hmac.new(secret.encode(), f'{head}.{body}'.encode(), digest).digest())}"


def weak_secret(ctx: ProbeContext) -> Outcome:
    users = ctx.identities.users() or ctx.identities.all
    token = next((c.token for _, c in ctx.identities.issued if c.token and jwt_parts(c.token)), None)
    if token is None and users:
        try:
            token = ctx.identities.tokens(users[0]).token
        except Exception:  # noqa: BLE001 - no login, no token: not applicable below
            token = None
    parts = jwt_parts(token) if token else None
    if parts is None:
        return WEAK.not_applicable("the identities' credentials are not JWTs (opaque tokens or cookies)")
    header, payload, _ = parts
    if header.get("alg") not in HMAC_ALGORITHMS:
        return WEAK.not_applicable(f"tokens are signed {header.get('alg')!r}, not with an HMAC secret")
    tried = candidate_secrets(ctx)
    found = next((secret for secret in tried if signs(token, secret)), None)  # type: ignore[arg-type]
    measured: dict[str, Any] = {"alg": header.get("alg"), "secrets_tried": len(tried)}
    if found is None:
        return WEAK.passed(f"none of {len(tried)} common or derived secrets signs the token",
                           evidence=Evidence(measured=measured))
    measured["secret"] = found[:2] + "*" * max(0, len(found) - 4) + found[-2:]
    op = probe_operation(ctx)
    forged = sign(header, {**payload, "iat": int(time.time()), "exp": int(time.time()) + 300}, found)
    evidence = Evidence(measured=measured)
    if op is not None:
        accepted = _with_token(ctx, op, forged)
        measured["self_signed_token_status"] = accepted.status_code
        evidence.samples = [sample(accepted, "a token the harness signed with the guessed secret")]
        evidence.curl = curl(accepted)
    outcome = WEAK.failed(f"the token's {header.get('alg')} signature verifies with a guessable secret "
                          f"({measured['secret']}, {len(found)} characters): anyone can mint tokens",
                          location=op.key if op else "", evidence=evidence)
    outcome.throttled = 0  # the proof is the offline signature check; the self-signed request only illustrates it
    return outcome


# -- expired tokens, replayed --------------------------------------------------------------


def store_path() -> Path:
    return Path(os.environ.get("HARNESS_STATE_DIR") or ".harness").absolute() / STORE_NAME


def _load(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [t for t in data if isinstance(t, dict)] if isinstance(data, list) else []


def _save(path: Path, tokens: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(tokens[-MAX_STORED:], indent=1))
    os.chmod(path, 0o600)


def captured(ctx: ProbeContext) -> list[dict[str, Any]]:
    """This run's JWTs (with their exp), as stored entries."""
    out = []
    for name, credential in ctx.identities.issued:
        parts = jwt_parts(credential.token) if credential.token else None
        if parts and isinstance(parts[1].get("exp"), (int, float)):
            out.append({"base_url": ctx.target.base_url, "identity": name, "token": credential.token,
                        "exp": float(parts[1]["exp"]), "captured_at": time.time()})
    return out


def expired_replay(ctx: ProbeContext) -> Outcome:
    op = probe_operation(ctx)
    path = store_path()
    now = time.time()
    stored = [t for t in _load(path) if now - float(t.get("exp", 0)) < FORGET_AFTER_S]
    mine = [t for t in stored if t.get("base_url") == ctx.target.base_url]
    if not captured(ctx):  # this context has logged nobody in yet: log in now, so this run has tokens to replay
        for identity in ctx.identities.logging_in()[:2]:
            try:
                ctx.identities.tokens(identity)
            except LoginFailed:
                continue
    fresh = captured(ctx)
    _save(path, [t for t in stored if t not in fresh] + fresh)
    if op is None:
        return EXPIRED_REPLAY.not_applicable("no authenticated GET without inputs to replay tokens against")
    if not fresh and not mine:
        return EXPIRED_REPLAY.not_applicable("no token with an exp claim was captured (opaque tokens or session cookies)",
                                      location=op.key)
    leeway = float(ctx.target.extra.get("jwt_leeway_s", DEFAULT_LEEWAY_S))
    pool = sorted({t["token"]: t for t in [*mine, *fresh]}.values(), key=lambda t: t["exp"])
    due = [t for t in pool if t["exp"] + leeway + 1 <= now]
    soon = [t for t in pool if now < t["exp"] + leeway + 1 <= now + ctx.budget.max_wait_s]
    if not due and soon:  # the oldest of this run expires within the profile's budget: wait for it
        time.sleep(max(0.0, soon[0]["exp"] + leeway + 1 - time.time()))
        due = soon[:1]
    if not due:
        nxt = min((t["exp"] for t in pool), default=None)
        when = f" (the next one expires at {time.strftime('%H:%M:%S', time.localtime(nxt))})" if nxt else ""
        return EXPIRED_REPLAY.skipped(f"no captured token of this target has expired yet; {len(pool)} kept in {path} are "
                               f"replayed by a later run{when}", location=op.key,
                               evidence=Evidence(measured={"kept": len(pool)}))
    replays = []
    for entry in due[-MAX_REPLAYED:]:
        response = _with_token(ctx, op, entry["token"])
        replays.append((entry, response))
    accepted = [(e, r) for e, r in replays if r.is_success]
    evidence = Evidence(measured={"replayed": len(replays), "accepted": len(accepted), "leeway_allowance_s": leeway,
                                  "expired_for_s": [round(time.time() - e["exp"]) for e, _ in replays],
                                  "store": str(path)},
                        samples=[sample(r, f"{e['identity']}'s token, expired {time.time() - e['exp']:.0f} s ago")
                                 for e, r in (accepted or replays)[:3]])
    if accepted:
        entry, response = accepted[0]
        evidence.curl = curl(response)
        return EXPIRED_REPLAY.failed(f"a token that expired {time.time() - entry['exp']:.0f} s ago was accepted "
                              f"({response.status_code})", location=op.key, evidence=evidence)
    return EXPIRED_REPLAY.passed(f"{len(replays)} expired token(s) refused ({', '.join(str(r.status_code) for _, r in replays)})",
                          location=op.key, evidence=evidence)


def run(ctx: ProbeContext) -> list[Outcome]:
    return [weak_secret(ctx)]


RULES = (WEAK, EXPIRED_REPLAY)
GROUP = ProbeGroup("tokens", run, RULES)
