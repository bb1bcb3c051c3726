"""A small FastAPI "notes" API for probe tests, in a good and a deliberately flawed variant.

``make_app(flaws={"bola", "sqli"})`` switches individual flaws on; ``serve(app)`` runs it with uvicorn on
a free 127.0.0.1 port in a thread and stops it on exit. Two optional parts are off unless asked for
(or implied by one of their flaws): ``sessions=True`` adds a browser login with cookies and signed
double-submit CSRF (``/session/*``); ``rate_limit=(limit, window_s)`` a per-user sliding-window
limiter that sends ``RateLimit``/``RateLimit-Policy`` headers and counts HEAD, 404s and every path.

The good variant does each thing right; every flaw (off by default, one per switch) breaks one:

- headers: ``headers`` no secure headers at all; ``no_nosniff`` no X-Content-Type-Options;
  ``permissive_permissions_policy`` camera/microphone/geolocation allowed to every origin (``=*``);
  ``no_cross_origin_isolation`` no COOP/COEP/CORP; ``cacheable_responses`` ``Cache-Control: public,
  max-age=300`` on every response (authenticated ones too).
- CORS (good: exactly ``ALLOWED_ORIGIN``, with credentials): ``cors`` any Origin (and ``null``) echoed
  with credentials; ``cors_wildcard_credentials`` a hand-rolled ``*`` plus ``Allow-Credentials: true``;
  ``cors_lookalike`` the allowlist is the regex ``https://app\\.notes\\.test.*`` (so
  ``https://app.notes.test.evil.test`` passes).
- cookies (sessions): ``cookie_no_secure``, ``cookie_no_httponly`` (session cookie), ``cookie_samesite_none``,
  ``cookie_no_host_prefix`` (``session``/``csrf`` instead of ``__Host-session``/``__Host-csrf``).
- CSRF (sessions; good: header == cookie == HMAC of the session): ``csrf_optional`` a request without
  the header is let through; ``csrf_header_unchecked`` the cookie's signature is checked, the header only
  for presence; ``state_changing_get`` ``GET /session/logout`` ends the session.
- authentication (good: HS256 only, typ access/refresh, rotation with reuse detection revoking the
  family, logout revokes the token and its family, 5 wrong passwords -> 429 for 30 s): ``alg_none``;
  ``guest_fallback`` no token -> a guest user of tenant acme; ``unverified_signature`` tokens decoded
  without verifying the signature; ``verified_signature_cache`` a signature verified once is trusted
  again with any payload (a cache keyed on the signature segment); ``refresh_no_rotation`` refresh hands
  the same refresh token back; ``refresh_any_token`` the refresh endpoint takes an access token;
  ``logout_keeps_tokens`` logout revokes nothing; ``no_login_limit`` wrong passwords are never throttled.
- authorization: ``bola`` another tenant's note can be read/deleted; ``bfla`` ``/admin/users`` open to users.
- injection: ``sqli`` ``q`` is formatted into SQL (errors are 500s); ``sqli_blind`` the same, errors look
  like "no results"; ``xss`` 404 pages echo the id as HTML; ``nosql`` ``POST /notes/query`` evaluates
  ``$ne``/``$gt``/``$regex`` objects in the raw body; ``path_traversal`` ``GET /files?name=`` joins the
  name onto the folder unchecked; ``ssti`` ``GET /preview?text=`` renders the text as a Jinja template;
  ``crlf`` ``GET /go?next=`` writes the value into Location raw (uvicorn refuses CR/LF in header values,
  so the flaw splits the lines into headers itself, as a server writing headers raw would).
- SSRF: ``ssrf`` ``callback_url`` is really POSTed to (good: refused with 422).
- resources: ``unbounded_page`` ``limit`` has no maximum (good: <= 100); ``no_body_limit`` note text has no
  maximum length (good: 1000); ``deep_json_500`` an audit-log middleware parses JSON bodies without a
  depth guard, so deep nesting is a 500 (good: FastAPI's parser answers 400).
- rate limit: ``ratelimit_race`` read-then-write around a store round trip (a concurrent burst gets
  past the limit); ``ratelimit_xff`` the key includes X-Forwarded-For; ``ratelimit_path_variants`` the key
  is the raw path while routing ignores case and a trailing slash; ``ratelimit_head`` HEAD is not counted
  (and answered like GET); ``ratelimit_no_retry_after`` 429 without Retry-After; ``ratelimit_headers_lie``
  ``RateLimit`` always advertises the full budget (remaining = limit), even on a 429.
"""

import asyncio
import hashlib
import hmac
import json
import math
import os
import re
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
import uvicorn
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response, Security
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.security import APIKeyCookie
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harness.platforms.base import Identity, Target

SECRET = "test-secret-" + "x" * 32
PASSWORD = "pw-for-tests"
USERS = {
    "alice@acme.test": {"id": "u-alice", "tenant": "acme", "role": "user"},
    "bob@globex.test": {"id": "u-bob", "tenant": "globex", "role": "user"},
    "root@acme.test": {"id": "u-root", "tenant": "acme", "role": "admin"},
}
ALLOWED_ORIGIN = "https://app.notes.test"
ACCESS_TTL_S, REFRESH_TTL_S = 300, 3600
LOGIN_FAILURES, LOCKOUT_S = 5, 30.0
MAX_PAGE = 100
DEFAULT_RATE_LIMIT = (10, 2.0)
CSRF_HEADER = "X-CSRF-Token"

HEADER_FLAWS = {"headers", "no_nosniff", "permissive_permissions_policy", "no_cross_origin_isolation",
                "cacheable_responses"}
CORS_FLAWS = {"cors", "cors_wildcard_credentials", "cors_lookalike"}
SESSION_FLAWS = {"cookie_no_secure", "cookie_no_httponly", "cookie_samesite_none", "cookie_no_host_prefix",
                 "csrf_optional", "csrf_header_unchecked", "state_changing_get"}
AUTH_FLAWS = {"alg_none", "guest_fallback", "unverified_signature", "verified_signature_cache",
              "refresh_no_rotation", "refresh_any_token", "logout_keeps_tokens", "no_login_limit"}
INJECTION_FLAWS = {"sqli", "sqli_blind", "xss", "nosql", "path_traversal", "ssti", "crlf"}
RESOURCE_FLAWS = {"unbounded_page", "no_body_limit", "deep_json_500"}
RATE_LIMIT_FLAWS = {"ratelimit_race", "ratelimit_xff", "ratelimit_path_variants", "ratelimit_head",
                    "ratelimit_no_retry_after", "ratelimit_headers_lie"}
FLAWS = HEADER_FLAWS | CORS_FLAWS | SESSION_FLAWS | AUTH_FLAWS | INJECTION_FLAWS | RESOURCE_FLAWS \
    | RATE_LIMIT_FLAWS | {"bola", "bfla", "ssrf"}
GOOD_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str
    password: str


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: str


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=1000)
    callback_url: str | None = Field(None, json_schema_extra={"format": "uri"})


class UnboundedNoteIn(NoteIn):  # flaw no_body_limit
    text: str = Field(min_length=1)


class NoteQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


class Note(BaseModel):
    id: str
    text: str


class NotePage(BaseModel):
    items: list[Note]
    limit: int


class Me(BaseModel):
    id: str
    username: str
    role: str


def make_app(flaws: set[str] = frozenset(), *, sessions: bool = False,  # type: ignore[assignment]
             rate_limit: tuple[int, float] | None = None) -> FastAPI:
    unknown = set(flaws) - FLAWS
    if unknown:
        raise ValueError(f"unknown flaws {unknown}; valid: {sorted(FLAWS)}")
    flaws = set(flaws)
    sessions = sessions or bool(flaws & SESSION_FLAWS)
    rate_limit = rate_limit or (DEFAULT_RATE_LIMIT if flaws & RATE_LIMIT_FLAWS else None)
    app = FastAPI(title="notes", docs_url=None, redoc_url=None)
    app.state.rate_limit = rate_limit
    state = _State(flaws)
    app.state.principal = _principal(state)
    _auth_routes(app, state)
    _note_routes(app, state)
    _injection_routes(app, state)
    if sessions:
        _session_routes(app, state)
    # middleware: the last added is the outermost: headers -> CORS -> [rate limit] -> [audit log] -> routes
    if "deep_json_500" in flaws:
        app.add_middleware(JsonAuditLog)
    if rate_limit:
        app.add_middleware(RateLimiter, limit=rate_limit[0], window_s=rate_limit[1], flaws=flaws)
    _cors(app, flaws)
    _security_headers(app, flaws)

    @app.exception_handler(_HtmlNotFound)
    def html_not_found(request: Request, exc: _HtmlNotFound) -> HTMLResponse:
        return HTMLResponse(f"<h1>Not found: {exc.note_id}</h1>", status_code=404)

    return app


class _State:
    """What one app instance keeps: notes, revoked tokens, sessions, login failures."""

    def __init__(self, flaws: set[str]) -> None:
        self.flaws = flaws
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.db.execute("create table notes (id text, owner text, tenant text, text text)")
        self.db.create_function("pg_sleep", 1, lambda seconds: time.sleep(min(float(seconds), 3.0)))  # emulated
        self.lock = threading.Lock()
        self.revoked: set[str] = set()  # access-token jti and refresh-family ids
        self.used_refresh: set[str] = set()
        self.verified_signatures: set[str] = set()  # flaw verified_signature_cache
        self.sessions: dict[str, dict[str, Any]] = {}
        self.failures: dict[str, deque[float]] = {}
        self.files = Path(tempfile.mkdtemp(prefix="notes-files-"))
        (self.files / "readme.txt").write_text("notes attachments\n")
        weakref.finalize(self, shutil.rmtree, self.files, True)

    def has(self, flaw: str) -> bool:
        return flaw in self.flaws

    # -- tokens ----------------------------------------------------------------------------
    def issue(self, username: str, family: str | None = None) -> dict[str, Any]:
        user = USERS[username]
        now = int(time.time())
        family = family or uuid.uuid4().hex
        common = {"sub": user["id"], "username": username, "fam": family}
        access = {**common, "tenant": user["tenant"], "role": user["role"], "typ": "access",
                  "jti": uuid.uuid4().hex, "exp": now + ACCESS_TTL_S}
        refresh = {**common, "typ": "refresh", "jti": uuid.uuid4().hex, "exp": now + REFRESH_TTL_S}
        return {"access_token": jwt.encode(access, SECRET, algorithm="HS256"),
                "refresh_token": jwt.encode(refresh, SECRET, algorithm="HS256"),
                "token_type": "bearer", "expires_in": ACCESS_TTL_S}

    def decode_access(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            if self.has("alg_none") and str(header.get("alg", "")).lower() == "none":  # noqa: SIM114 - a branch per flaw
                claims = jwt.decode(token, options={"verify_signature": False})
            elif self.has("unverified_signature"):  # noqa: SIM114
                claims = jwt.decode(token, options={"verify_signature": False})
            elif self.has("verified_signature_cache") and token.rsplit(".", 1)[-1] in self.verified_signatures:
                claims = jwt.decode(token, options={"verify_signature": False})
            else:
                claims = jwt.decode(token, SECRET, algorithms=["HS256"])
                self.verified_signatures.add(token.rsplit(".", 1)[-1])
        except jwt.PyJWTError:
            raise HTTPException(401, "invalid token") from None
        if claims.get("typ") != "access" or claims.get("jti") in self.revoked or claims.get("fam") in self.revoked:
            raise HTTPException(401, "not a valid access token")
        return claims

    # -- passwords ---------------------------------------------------------------------------
    def check_password(self, body: Login) -> None:
        """Raise 401 for wrong credentials, 429 while the account is locked after repeated failures."""
        now = time.monotonic()
        with self.lock:
            failures = self.failures.setdefault(body.username, deque())
            while failures and failures[0] <= now - LOCKOUT_S:
                failures.popleft()
            if len(failures) >= LOGIN_FAILURES and not self.has("no_login_limit"):
                retry = math.ceil(failures[0] + LOCKOUT_S - now)
                raise HTTPException(429, "too many failed logins", headers={"Retry-After": str(retry)})
            if body.username not in USERS or body.password != PASSWORD:
                failures.append(now)
                raise HTTPException(401, "bad credentials")

    def csrf_token(self, session_id: str) -> str:
        return hmac.new(SECRET.encode(), session_id.encode(), hashlib.sha256).hexdigest()


def _auth_routes(app: FastAPI, state: _State) -> None:
    @app.post("/auth/login")
    def login(body: Login) -> dict:
        state.check_password(body)
        return state.issue(body.username)

    @app.post("/auth/refresh")
    def refresh(body: RefreshIn) -> dict:
        try:
            claims = jwt.decode(body.refresh_token, SECRET, algorithms=["HS256"])
        except jwt.PyJWTError:
            raise HTTPException(401, "invalid refresh token") from None
        if claims.get("typ") != "refresh" and not state.has("refresh_any_token"):
            raise HTTPException(401, "not a refresh token")
        family, jti = claims.get("fam", ""), claims.get("jti", "")
        with state.lock:
            if family in state.revoked:
                raise HTTPException(401, "refresh family revoked")
            if jti in state.used_refresh:  # reuse of a rotated token: somebody stole one of the two
                state.revoked.add(family)
                raise HTTPException(401, "refresh token reused; family revoked")
            if state.has("refresh_no_rotation"):
                return {**state.issue(claims["username"], family), "refresh_token": body.refresh_token}
            state.used_refresh.add(jti)
        return state.issue(claims["username"], family)

    @app.post("/auth/logout", status_code=204)
    def logout(p: dict = Depends(app.state.principal)) -> Response:
        if not state.has("logout_keeps_tokens"):
            state.revoked.update({p["jti"], p["fam"]})
        return Response(status_code=204)


def _principal(state: _State):  # type: ignore[no-untyped-def]
    guest = {"sub": "u-guest", "username": "guest", "tenant": "acme", "role": "user", "jti": "", "fam": ""}

    def principal(authorization: str = Header("")) -> dict:
        token = authorization.removeprefix("Bearer ").strip()
        if not token:
            if state.has("guest_fallback"):  # a development convenience left switched on
                return guest
            raise HTTPException(401, "missing token")
        return state.decode_access(token)

    return principal


def _note_routes(app: FastAPI, state: _State) -> None:
    flaws, db, lock = state.flaws, state.db, state.lock
    principal = app.state.principal
    note_in = UnboundedNoteIn if "no_body_limit" in flaws else NoteIn
    page_limit = Query(20, ge=1) if "unbounded_page" in flaws else Query(20, ge=1, le=MAX_PAGE)

    @app.get("/me", response_model=Me)
    def me(p: dict = Depends(principal)) -> Me:
        return Me(id=p["sub"], username=p["username"], role=p["role"])

    @app.post("/notes", status_code=201, response_model=Note)
    def create(body: note_in, p: dict = Depends(principal)) -> Note:  # type: ignore[valid-type]
        if body.callback_url:
            if "ssrf" in flaws:
                try:
                    httpx.post(body.callback_url, json={"text": body.text}, timeout=1.0)
                except httpx.HTTPError:
                    pass
            else:
                raise HTTPException(422, "callback_url must be a public https URL")
        return _store(state, p, body.text)

    @app.get("/notes", response_model=NotePage)
    def search(q: str = "", limit: int = page_limit, p: dict = Depends(principal)) -> NotePage:
        with lock:
            if "sqli" in flaws or "sqli_blind" in flaws:
                try:
                    rows = db.execute(f"select id, text from notes where tenant = '{p['tenant']}' "
                                      f"and text like '%{q}%'").fetchall()
                except sqlite3.Error as exc:
                    if "sqli_blind" in flaws:  # blind: errors look like "no results"
                        rows = []
                    else:
                        raise HTTPException(500, "query failed") from exc
            else:
                rows = db.execute("select id, text from notes where tenant = ? and text like ?",
                                  (p["tenant"], f"%{q}%")).fetchall()
        return NotePage(items=[Note(id=r[0], text=r[1]) for r in rows[:limit]], limit=limit)

    def find(note_id: str, p: dict) -> tuple:
        with lock:
            row = db.execute("select id, owner, tenant, text from notes where id = ?", (note_id,)).fetchone()
        if row is None or ("bola" not in flaws and row[2] != p["tenant"]):
            if "xss" in flaws:
                raise _HtmlNotFound(note_id)
            raise HTTPException(404, "no such note")
        return row

    @app.get("/notes/{note_id}", response_model=Note)
    def read(note_id: str, p: dict = Depends(principal)) -> Note:
        row = find(note_id, p)
        return Note(id=row[0], text=row[3])

    @app.delete("/notes/{note_id}", status_code=204)
    def delete(note_id: str, p: dict = Depends(principal)) -> Response:
        find(note_id, p)
        with lock:
            db.execute("delete from notes where id = ?", (note_id,))
        return Response(status_code=204)

    @app.get("/admin/users", tags=["admin"])
    def admin_users(p: dict = Depends(principal)) -> list[dict]:
        if p["role"] != "admin" and "bfla" not in flaws:
            raise HTTPException(403, "admins only")
        return [{"username": name, **user} for name, user in USERS.items()]


def _store(state: _State, p: dict, text: str) -> Note:
    note = Note(id=uuid.uuid4().hex, text=text)
    with state.lock:
        state.db.execute("insert into notes values (?,?,?,?)", (note.id, p["sub"], p["tenant"], note.text))
    return note


def _tenant_notes(state: _State, p: dict) -> list[Note]:
    with state.lock:
        rows = state.db.execute("select id, text from notes where tenant = ?", (p["tenant"],)).fetchall()
    return [Note(id=r[0], text=r[1]) for r in rows]


def _injection_routes(app: FastAPI, state: _State) -> None:
    """Endpoints whose input reaches a document query, the file system, a template and a header."""
    principal = app.state.principal
    templates = SandboxedEnvironment(autoescape=True)

    if state.has("nosql"):
        schema = {"content": {"application/json": {"schema": NoteQuery.model_json_schema()}}, "required": True}

        @app.post("/notes/query", response_model=NotePage, openapi_extra={"requestBody": schema})
        async def query_raw(request: Request, p: dict = Depends(principal)) -> NotePage:
            wanted = (await request.json()).get("text")  # the raw body goes into the "document query"
            items = [n for n in _tenant_notes(state, p) if _matches(n.text, wanted)]
            return NotePage(items=items, limit=len(items))
    else:
        @app.post("/notes/query", response_model=NotePage)
        def query(body: NoteQuery, p: dict = Depends(principal)) -> NotePage:
            items = [n for n in _tenant_notes(state, p) if n.text == body.text]
            return NotePage(items=items, limit=len(items))

    @app.get("/files")
    def read_file(name: str, p: dict = Depends(principal)) -> dict:
        path = Path(os.path.join(state.files, name))
        if not state.has("path_traversal") and not path.resolve().is_relative_to(state.files.resolve()):
            raise HTTPException(404, "no such file")
        try:
            return {"name": name, "content": path.read_text()}
        except OSError:
            raise HTTPException(404, "no such file") from None

    @app.get("/preview")
    def preview(text: str, p: dict = Depends(principal)) -> dict:
        try:
            template = templates.from_string(text) if state.has("ssti") else templates.from_string("{{ text }}")
            return {"preview": template.render(text=text)}
        except Exception:  # noqa: BLE001 - a template error in the flawed variant
            raise HTTPException(400, "cannot render") from None

    @app.get("/go", status_code=302)
    def go(next: str, p: dict = Depends(principal)) -> Response:
        if state.has("crlf"):
            first, *injected = next.split("\r\n")
            response = Response(status_code=302, headers={"Location": first.strip()})
            for line in injected:
                name, _, value = line.partition(":")
                response.headers[name.strip()] = value.strip()
            return response
        if not next.startswith("/") or next.startswith("//") or any(c in next for c in "\r\n\\"):
            raise HTTPException(400, "next must be a path on this site")
        return RedirectResponse(next, status_code=302)


def _matches(value: str, wanted: Any) -> bool:
    """A document-store style match: a plain value, or an operator object (the nosql flaw evaluates it)."""
    if not isinstance(wanted, dict):
        return value == wanted
    checks = {"$ne": lambda v: value != v, "$gt": lambda v: value > str(v),
              "$regex": lambda v: re.search(str(v), value) is not None}
    return all(checks[op](v) for op, v in wanted.items() if op in checks)


def _session_routes(app: FastAPI, state: _State) -> None:
    prefix = "" if state.has("cookie_no_host_prefix") else "__Host-"
    session_name, csrf_name = f"{prefix}session", f"{prefix}csrf"
    cookie_scheme = APIKeyCookie(name=session_name, auto_error=False)

    def session_user(session_id: str | None = Security(cookie_scheme)) -> dict:
        user = state.sessions.get(session_id or "")
        if user is None:
            raise HTTPException(401, f"no valid {session_name} cookie; POST /session/login first")
        return user

    def csrf_checked(request: Request, user: dict = Depends(session_user)) -> dict:
        header, cookie = request.headers.get(CSRF_HEADER), request.cookies.get(csrf_name, "")
        expected = state.csrf_token(user["sid"])
        if header is None and state.has("csrf_optional"):
            return user
        if state.has("csrf_header_unchecked"):
            valid = bool(header) and hmac.compare_digest(cookie, expected)
        else:
            valid = header is not None and hmac.compare_digest(header, cookie) and hmac.compare_digest(header, expected)
        if not valid:
            raise HTTPException(403, "CSRF token missing or invalid")
        return user

    @app.post("/session/login")
    def session_login(body: Login, response: Response) -> dict:
        state.check_password(body)
        session_id = uuid.uuid4().hex
        state.sessions[session_id] = {"sid": session_id, "username": body.username, **USERS[body.username]}
        secure = not state.has("cookie_no_secure")
        samesite = "none" if state.has("cookie_samesite_none") else "strict"
        response.set_cookie(session_name, session_id, path="/", secure=secure, samesite=samesite,
                            httponly=not state.has("cookie_no_httponly"))
        response.set_cookie(csrf_name, state.csrf_token(session_id), path="/", secure=secure, samesite=samesite,
                            httponly=False)  # JavaScript reads it to send the header
        return {"username": body.username, "csrf_header": CSRF_HEADER}

    @app.get("/session/me", response_model=Me)
    def session_me(user: dict = Depends(session_user)) -> Me:
        return Me(id=user["id"], username=user["username"], role=user["role"])

    @app.post("/session/notes", status_code=201, response_model=Note)
    def session_note(body: NoteIn, user: dict = Depends(csrf_checked)) -> Note:
        return _store(state, {"sub": user["id"], "tenant": user["tenant"]}, body.text)

    @app.post("/session/logout", status_code=204)
    def session_logout(user: dict = Depends(csrf_checked)) -> Response:
        state.sessions.pop(user["sid"], None)
        return Response(status_code=204)

    if state.has("state_changing_get"):
        @app.get("/session/logout")
        def session_logout_link(user: dict = Depends(session_user)) -> dict:
            state.sessions.pop(user["sid"], None)
            return {"logged_out": True}


def _cors(app: FastAPI, flaws: set[str]) -> None:
    if "cors_wildcard_credentials" in flaws:
        @app.middleware("http")
        async def hand_rolled_cors(request: Request, call_next):  # type: ignore[no-untyped-def]
            response = await call_next(request)
            response.headers.update({"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "true"})
            return response
        return
    origins: dict[str, Any] = {"allow_origins": [ALLOWED_ORIGIN]}
    if "cors" in flaws:
        origins = {"allow_origin_regex": ".*"}
    elif "cors_lookalike" in flaws:
        origins = {"allow_origin_regex": r"https://app\.notes\.test.*"}
    app.add_middleware(CORSMiddleware, allow_credentials=True, allow_methods=["GET", "POST", "DELETE"],
                       allow_headers=["Authorization", "Content-Type", CSRF_HEADER], **origins)


def _security_headers(app: FastAPI, flaws: set[str]) -> None:
    headers = {} if "headers" in flaws else dict(GOOD_HEADERS)
    if "no_nosniff" in flaws:
        del headers["X-Content-Type-Options"]
    if "permissive_permissions_policy" in flaws:
        headers["Permissions-Policy"] = "camera=*, microphone=*, geolocation=*"
    if "no_cross_origin_isolation" in flaws:
        for name in ("Cross-Origin-Opener-Policy", "Cross-Origin-Embedder-Policy", "Cross-Origin-Resource-Policy"):
            del headers[name]
    if "cacheable_responses" in flaws:
        headers["Cache-Control"] = "public, max-age=300"

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        response.headers.update(headers)
        return response


class RateLimiter:
    """Per-user sliding log in front of every route; anonymous requests pass (the route answers 401)."""

    def __init__(self, app: ASGIApp, *, limit: int, window_s: float, flaws: set[str]) -> None:
        self.app, self.limit, self.window_s, self.flaws = app, limit, window_s, flaws
        self.log: dict[str, deque[float]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = _bearer_subject(scope) if scope["type"] == "http" else None
        if user is None:
            await self.app(scope, receive, send)
            return
        inner = {**scope, "method": "GET"} if scope["method"] == "HEAD" else scope  # HEAD is answered like GET
        if "ratelimit_path_variants" in self.flaws:
            inner = {**inner, "path": inner["path"].lower().rstrip("/") or "/"}
        if scope["method"] == "HEAD" and "ratelimit_head" in self.flaws:
            await self.app(inner, receive, send)
            return
        allowed, remaining, reset = await self.hit(self.key(scope, user))
        if "ratelimit_headers_lie" in self.flaws:
            remaining = self.limit
        headers = {"RateLimit-Policy": f"{self.limit};w={self.window_s:g}",
                   "RateLimit": f"limit={self.limit}, remaining={remaining}, reset={reset}"}
        if not allowed:
            if "ratelimit_no_retry_after" not in self.flaws:
                headers["Retry-After"] = str(reset)
            await JSONResponse({"detail": "rate limit exceeded"}, 429, headers=headers)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(inner, receive, send_with_headers)

    def key(self, scope: Scope, user: str) -> str:
        key = user
        if "ratelimit_xff" in self.flaws:
            key += "|" + dict(scope["headers"]).get(b"x-forwarded-for", b"").decode("latin-1")
        if "ratelimit_path_variants" in self.flaws:
            key += "|" + scope["path"]
        return key

    async def hit(self, key: str) -> tuple[bool, int, int]:
        """(allowed, remaining, seconds until a slot frees up) - atomic unless ratelimit_race."""
        now = time.monotonic()
        log = self.log.setdefault(key, deque())
        while log and log[0] <= now - self.window_s:
            log.popleft()
        used = len(log)
        if "ratelimit_race" in self.flaws:
            await asyncio.sleep(0.05)  # a store round trip between the read and the write
        reset = max(1, math.ceil(log[0] + self.window_s - now)) if log else math.ceil(self.window_s)
        if used >= self.limit:
            return False, 0, reset
        log.append(now)
        return True, self.limit - used - 1, reset


def _bearer_subject(scope: Scope) -> str | None:
    authorization = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
    try:
        return str(jwt.decode(authorization.removeprefix("Bearer ").strip(), SECRET, algorithms=["HS256"])["sub"])
    except (jwt.PyJWTError, KeyError):
        return None


class JsonAuditLog:
    """Flaw deep_json_500: logs every JSON body, parsed with ``json.loads`` and no depth guard."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in {"POST", "PUT", "PATCH"}:
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body:
            json.loads(body)  # RecursionError on deep nesting -> 500
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


class _HtmlNotFound(Exception):
    def __init__(self, note_id: str) -> None:
        self.note_id = note_id


def target_for(base_url: str, rate_limit: tuple[int, float] | None = None) -> Target:
    """The notes app as a Target: three identities, the CORS allowlist and (if limited) the rate-limit claim."""
    identities = {
        "acme_user": Identity(name="acme_user", username="alice@acme.test", password=PASSWORD, tenant="acme", role="user"),
        "globex_user": Identity(name="globex_user", username="bob@globex.test", password=PASSWORD, tenant="globex",
                                role="user"),
        "acme_admin": Identity(name="acme_admin", username="root@acme.test", password=PASSWORD, tenant="acme",
                               role="admin"),
    }
    extra: dict[str, Any] = {"cors_allowed_origins": [ALLOWED_ORIGIN]}
    if rate_limit:
        extra["claims"] = {"rate_limit": {"limit": rate_limit[0], "window_s": rate_limit[1]}}
    return Target(base_url=base_url, openapi_url=f"{base_url}/openapi.json", identities=identities, extra=extra)


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` on a free loopback port in a thread; yields its base URL and always stops it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", server_header=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the test app did not start within 10 s")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
