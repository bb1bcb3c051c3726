"""A help-desk API nobody on this team would write the harness's way: a foreign test target.

FastAPI, but in the style of a team that reads raw JSON in its handlers: the spec FastAPI generates
has **no security scheme, no request bodies and no `required` fields**. Login is
``POST /api/v1/auth/token`` with ``{"email", "secret"}``; the token is at ``data.jwt``; a failed
login answers **200** with ``{"data": null, "error": ...}``. Tickets are created with a 201, an
empty body and a ``Location`` header (ids are ``ticket_ref`` strings such as ``T-0003``), listed
under ``results``. Identities have tenants ``acme`` and ``globex``. An optional per-IP limiter
(``rate_limit=(n, window_s)``) answers 429 with Retry-After.

``make_app(defects=DEFECTS)`` switches every defect on; ``make_app()`` is the clean twin. The
defects (each id is what the harness must report; see ``DEFECTS``):

- ``weak_jwt_secret``: tokens are signed HS256 with the secret ``secret123``.
- ``expired_token_accepted``: ``exp`` is checked with a one-day leeway (a token a day past expiry works).
- ``user_enumeration``: the login's error says "unknown email" or "wrong secret".
- ``no_login_limit``: wrong secrets are never throttled (clean: 5 failures -> 429 for 30 s).
- ``tenant_listing``: ``GET /api/v1/tickets`` lists every tenant's tickets.
- ``bola_ticket_read``: ``GET /api/v1/tickets/{ticket_ref}`` serves other tenants' tickets.
- ``mass_assignment_patch``: ``PATCH /api/v1/tickets/{ticket_ref}`` copies ``tenant``/``owner`` from the body.
- ``redos``: ``GET /api/v1/tickets/search?code=`` matches the code with the spec's own pattern
  ``^([A-Za-z0-9]+-?)*$`` in Python's backtracking ``re`` (clean: an equivalent linear check).
- ``debug_config_public``: ``GET /api/v1/debug/config`` answers anyone with the JWT secret and the DB password.

Identity hazards for fuzzers (not defects): ``PUT /api/v1/users/me/secret`` changes the caller's
secret and ``DELETE /api/v1/users/me`` deletes the caller.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import secrets
import threading
import time
import warnings
from collections import deque
from typing import Any

import jwt
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.middleware.base import BaseHTTPMiddleware

from tests.foreign.common import GOOD_HEADERS

warnings.filterwarnings("ignore", message="The HMAC key is", module="jwt")  # the weak secret is the point
WEAK_SECRET = "secret123"
PASSWORD = "Tk-pass-2024"
EVIL_PATTERN = r"^([A-Za-z0-9]+-?)*$"  # published in the spec; exponential in a backtracking engine
SAFE_PATTERN = re.compile(r"^[A-Za-z0-9-]*$")  # the same language, linear
LOCKOUT_FAILURES, LOCKOUT_S = 5, 30.0
DEFECTS: dict[str, dict[str, str]] = {
    "weak_jwt_secret": {"check": "security.auth.weak_secret", "location": ""},
    "expired_token_accepted": {"check": "security.auth.expired*", "location": ""},
    "user_enumeration": {"check": "security.auth.user_enumeration", "location": "POST /api/v1/auth/token"},
    "no_login_limit": {"check": "security.auth.bruteforce", "location": "POST /api/v1/auth/token"},
    "tenant_listing": {"check": "security.authz.bola", "location": "GET /api/v1/tickets"},
    "bola_ticket_read": {"check": "security.authz.bola", "location": "GET /api/v1/tickets/{ticket_ref}"},
    "mass_assignment_patch": {"check": "security.authz.mass_assignment",
                              "location": "PATCH /api/v1/tickets/{ticket_ref}"},
    "redos": {"check": "security.injection.redos", "location": "GET /api/v1/tickets/search"},
    "debug_config_public": {"check": "security.authz.data_exposure", "location": "GET /api/v1/debug/config"},
}
USERS = {
    "ann@acme.test": {"tenant": "acme", "role": "agent"},
    "ben@acme.test": {"tenant": "acme", "role": "agent"},
    "gus@globex.test": {"tenant": "globex", "role": "agent"},
    "ada@acme.test": {"tenant": "acme", "role": "admin"},
}



def identities() -> dict[str, dict[str, Any]]:
    """The test identities as a target file lists them (no role for agents: 'user' by default)."""
    return {
        "ann": {"username": "ann@acme.test", "password": PASSWORD, "tenant": "acme"},
        "gus": {"username": "gus@globex.test", "password": PASSWORD, "tenant": "globex"},
        "ada": {"username": "ada@acme.test", "password": PASSWORD, "tenant": "acme", "role": "admin"},
    }


def target_file(base_url: str) -> dict[str, Any]:
    """What a user writes for this system: the login the app's own docs describe, and four identities."""
    return {"base_url": base_url,
            "login": {"path": "/api/v1/auth/token", "body": {"email": "{username}", "secret": "{password}"},
                      "token": "data.jwt"},
            "identities": identities()}


class _State:
    def __init__(self, defects: set[str], ttl_s: float) -> None:
        self.defects = defects
        self.ttl_s = ttl_s
        self.secret = WEAK_SECRET if "weak_jwt_secret" in defects else secrets.token_urlsafe(32)
        self.lock = threading.Lock()
        self.passwords = {email: PASSWORD for email in USERS}
        self.deleted: set[str] = set()
        self.failures: dict[str, deque[float]] = {}
        self.counter = itertools.count(1)
        self.tickets: dict[str, dict[str, Any]] = {}
        for email, tenant in (("ann@acme.test", "acme"), ("gus@globex.test", "globex")):  # demo data
            self.add({"title": f"printer on fire ({tenant})", "body": "smoke everywhere", "priority": "high"},
                     email, tenant)

    def has(self, defect: str) -> bool:
        return defect in self.defects

    def add(self, fields: dict[str, Any], owner: str, tenant: str) -> dict[str, Any]:
        ref = f"T-{next(self.counter):04d}"
        ticket = {"ticket_ref": ref, "title": str(fields.get("title", "")), "body": str(fields.get("body", "")),
                  "priority": str(fields.get("priority", "normal")), "tenant": tenant, "owner": owner,
                  "created_at": int(time.time())}
        with self.lock:
            self.tickets[ref] = ticket
        return ticket

    def issue(self, email: str) -> str:
        now = int(time.time())
        return jwt.encode({"sub": email, "tenant": USERS[email]["tenant"], "role": USERS[email]["role"],
                           "iat": now, "exp": now + int(self.ttl_s)}, self.secret, algorithm="HS256")

    def principal(self, request: Request) -> dict[str, Any] | None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not token:
            return None
        leeway = 86_400 if self.has("expired_token_accepted") else 0
        try:
            claims = jwt.decode(token, self.secret, algorithms=["HS256"], leeway=leeway)
        except jwt.PyJWTError:
            return None
        return None if claims["sub"] in self.deleted else claims


def make_app(defects: set[str] | frozenset[str] = frozenset(), *, ttl_s: float = 1800,
             rate_limit: tuple[int, float] | None = None) -> FastAPI:
    unknown = set(defects) - set(DEFECTS)
    if unknown:
        raise ValueError(f"unknown defects {sorted(unknown)}; known: {sorted(DEFECTS)}")
    state = _State(set(defects), ttl_s)
    app = FastAPI(title="tickets", version="2.3.1", docs_url=None, redoc_url=None)
    app.state.tickets = state

    @app.exception_handler(BadBody)
    def bad_body(request: Request, exc: BadBody) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    _auth_routes(app, state)
    _ticket_routes(app, state)
    _user_routes(app, state)
    if rate_limit:
        app.add_middleware(PerIpLimiter, limit=rate_limit[0], window_s=rate_limit[1])
    app.add_middleware(SecureHeaders)
    return app


def _unauthorized() -> JSONResponse:
    return JSONResponse({"error": "authentication required"}, status_code=401)


MAX_BODY_BYTES = 64 * 1024


class BadBody(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message


async def _json(request: Request) -> dict[str, Any]:
    """The raw JSON object of a request: bounded in size and depth, string fields only as strings."""
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise BadBody(413, "body too large")
    try:
        body = json.loads(raw or b"{}")
    except RecursionError:
        raise BadBody(400, "JSON nested too deeply") from None
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    if any(isinstance(v, (dict, list)) for v in body.values()):
        raise BadBody(400, "fields must be plain values")
    return body


def _auth_routes(app: FastAPI, state: _State) -> None:
    @app.post("/api/v1/auth/token")
    async def token(request: Request) -> Any:
        body = await _json(request)
        email, secret = str(body.get("email", "")), str(body.get("secret", ""))
        now = time.monotonic()
        with state.lock:
            failures = state.failures.setdefault(email, deque())
            while failures and failures[0] <= now - LOCKOUT_S:
                failures.popleft()
            if len(failures) >= LOCKOUT_FAILURES and not state.has("no_login_limit"):
                retry = math.ceil(failures[0] + LOCKOUT_S - now)
                return JSONResponse({"data": None, "error": "too many attempts"}, status_code=429,
                                    headers={"Retry-After": str(retry)})
            known = email in USERS and email not in state.deleted
            if not known or state.passwords.get(email) != secret:
                failures.append(now)
                error = ("unknown email" if not known else "wrong secret") if state.has("user_enumeration") \
                    else "invalid credentials"
                return {"data": None, "error": error}  # 200 on failure: this API's style, not a defect
        return {"data": {"jwt": state.issue(email), "expires_in": int(state.ttl_s)}, "error": None}

    @app.get("/api/v1/debug/config")
    def debug_config(request: Request) -> Any:
        who = state.principal(request)
        if not state.has("debug_config_public") and (who is None or who["role"] != "admin"):
            return _unauthorized() if who is None else JSONResponse({"error": "admins only"}, status_code=403)
        return {"service": "tickets", "jwt_secret": state.secret, "database_password": "pg-Sup3r-secret",
                "features": {"search": True}}


def _visible(state: _State, who: dict[str, Any], ticket: dict[str, Any]) -> bool:
    return ticket["tenant"] == who["tenant"]


def _ticket_routes(app: FastAPI, state: _State) -> None:
    @app.get("/api/v1/tickets")
    def list_tickets(request: Request) -> Any:
        who = state.principal(request)
        if who is None:
            return _unauthorized()
        with state.lock:
            tickets = list(state.tickets.values())
        if not state.has("tenant_listing"):
            tickets = [t for t in tickets if _visible(state, who, t)]
        return {"results": tickets, "count": len(tickets)}

    @app.post("/api/v1/tickets", status_code=201)
    async def create_ticket(request: Request) -> Any:
        who = state.principal(request)
        if who is None:
            return _unauthorized()
        body = await _json(request)
        if not str(body.get("title", "")).strip():
            return JSONResponse({"error": "title is required"}, status_code=400)
        ticket = state.add(body, who["sub"], who["tenant"])
        return Response(status_code=201, headers={"Location": f"/api/v1/tickets/{ticket['ticket_ref']}"})

    @app.get("/api/v1/tickets/search")
    def search(request: Request, code: str = Query("", json_schema_extra={"pattern": EVIL_PATTERN})) -> Any:
        who = state.principal(request)
        if who is None:
            return _unauthorized()
        if state.has("redos"):
            valid = re.fullmatch(EVIL_PATTERN, code) is not None
        else:
            valid = SAFE_PATTERN.fullmatch(code) is not None
        if not valid:
            return JSONResponse({"error": "code must be letters and digits in dash-separated groups"},
                                status_code=400)
        with state.lock:
            found = [t for t in state.tickets.values() if _visible(state, who, t) and code in t["ticket_ref"]]
        return {"results": found, "count": len(found)}

    def find(request: Request, ref: str) -> tuple[dict[str, Any] | None, JSONResponse | None]:
        who = state.principal(request)
        if who is None:
            return None, _unauthorized()
        ticket = state.tickets.get(ref)
        if ticket is None or (not state.has("bola_ticket_read") and not _visible(state, who, ticket)):
            return None, JSONResponse({"error": "no such ticket"}, status_code=404)
        return ticket, None

    @app.get("/api/v1/tickets/{ticket_ref}")
    def read_ticket(ticket_ref: str, request: Request) -> Any:
        ticket, refused = find(request, ticket_ref)
        return refused or ticket

    @app.patch("/api/v1/tickets/{ticket_ref}")
    async def update_ticket(ticket_ref: str, request: Request) -> Any:
        who = state.principal(request)
        ticket = state.tickets.get(ticket_ref)
        if who is None:
            return _unauthorized()
        if ticket is None or not _visible(state, who, ticket):
            return JSONResponse({"error": "no such ticket"}, status_code=404)
        body = await _json(request)
        allowed = {"title", "body", "priority"} | ({"tenant", "owner"} if state.has("mass_assignment_patch") else set())
        with state.lock:
            ticket.update({k: str(v) for k, v in body.items() if k in allowed})
        return ticket

    @app.delete("/api/v1/tickets/{ticket_ref}", status_code=204, response_class=Response, response_model=None)
    def delete_ticket(ticket_ref: str, request: Request) -> Any:
        _ticket, refused = find(request, ticket_ref)
        if refused:
            return refused
        with state.lock:
            state.tickets.pop(ticket_ref, None)
        return Response(status_code=204)


def _user_routes(app: FastAPI, state: _State) -> None:
    @app.get("/api/v1/users/me")
    def me(request: Request) -> Any:
        who = state.principal(request)
        if who is None:
            return _unauthorized()
        return {"email": who["sub"], "tenant": who["tenant"], "role": who["role"]}

    @app.put("/api/v1/users/me/secret", status_code=204, response_class=Response, response_model=None)
    async def change_secret(request: Request) -> Any:
        who = state.principal(request)
        if who is None:
            return _unauthorized()
        secret = str((await _json(request)).get("secret", ""))
        if len(secret) < 8:
            return JSONResponse({"error": "secret too short"}, status_code=400)
        state.passwords[who["sub"]] = secret
        return Response(status_code=204)

    @app.delete("/api/v1/users/me", status_code=204, response_class=Response, response_model=None)
    def delete_me(request: Request) -> Any:
        who = state.principal(request)
        if who is None:
            return _unauthorized()
        state.deleted.add(who["sub"])
        return Response(status_code=204)


class SecureHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        for name, value in GOOD_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


class PerIpLimiter(BaseHTTPMiddleware):
    """A sliding-window limit per client address on every route: 429 with Retry-After beyond it."""

    def __init__(self, app: Any, limit: int, window_s: float) -> None:
        super().__init__(app)
        self.limit, self.window_s = limit, window_s
        self.log: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    async def dispatch(self, request: Request, call_next: Any) -> Response:
        key = request.client.host if request.client else "?"
        now = time.monotonic()
        with self.lock:
            log = self.log.setdefault(key, deque())
            while log and log[0] <= now - self.window_s:
                log.popleft()
            if len(log) >= self.limit:
                retry = max(1, math.ceil(log[0] + self.window_s - now))
                return JSONResponse({"error": "rate limited"}, status_code=429, headers={"Retry-After": str(retry)})
            log.append(now)
        return await call_next(request)


def serve(app: FastAPI) -> Any:
    """uvicorn on a free loopback port, not trusting X-Forwarded-For (the per-IP limiter keys on the real peer;
    uvicorn's default trusts forwarding headers from 127.0.0.1, where the harness itself runs)."""
    from tests.security.notes_app import serve as serve_asgi

    return serve_asgi(app, proxy_headers=False)
