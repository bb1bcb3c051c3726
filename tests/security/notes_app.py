"""A small FastAPI "notes" API for probe tests, in a good and a deliberately flawed variant.

``make_app(flaws={"bola", "sqli"})`` switches individual flaws on; ``serve(app)`` runs it with uvicorn on
a free 127.0.0.1 port in a thread and stops it on exit.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import jwt
import uvicorn
from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from harness.platforms.base import Identity, Target

SECRET = "test-secret-" + "x" * 32
PASSWORD = "pw-for-tests"
USERS = {
    "alice@acme.test": {"id": "u-alice", "tenant": "acme", "role": "user"},
    "bob@globex.test": {"id": "u-bob", "tenant": "globex", "role": "user"},
    "root@acme.test": {"id": "u-root", "tenant": "acme", "role": "admin"},
}
FLAWS = {"headers", "cors", "bola", "bfla", "sqli", "sqli_blind", "xss", "alg_none", "ssrf"}
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


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=1000)
    callback_url: str | None = Field(None, json_schema_extra={"format": "uri"})


class Note(BaseModel):
    id: str
    text: str


class NotePage(BaseModel):
    items: list[Note]


class Me(BaseModel):
    id: str
    username: str
    role: str


def make_app(flaws: set[str] = frozenset()) -> FastAPI:  # type: ignore[assignment]
    unknown = set(flaws) - FLAWS
    if unknown:
        raise ValueError(f"unknown flaws {unknown}; valid: {sorted(FLAWS)}")
    app = FastAPI(title="notes", docs_url=None, redoc_url=None)
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute("create table notes (id text, owner text, tenant text, text text)")
    db.create_function("pg_sleep", 1, lambda seconds: time.sleep(min(float(seconds), 3.0)))  # PostgreSQL's, emulated
    lock = threading.Lock()

    @app.middleware("http")
    async def headers_and_cors(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        if "headers" not in flaws:
            response.headers.update(GOOD_HEADERS)
        origin = request.headers.get("origin")
        if "cors" in flaws and origin:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
        return response

    def principal(authorization: str = Header("")) -> dict:
        token = authorization.removeprefix("Bearer ").strip()
        if not token:
            raise HTTPException(401, "missing token")
        try:
            if "alg_none" in flaws and jwt.get_unverified_header(token).get("alg", "").lower() == "none":
                return jwt.decode(token, options={"verify_signature": False})
            return jwt.decode(token, SECRET, algorithms=["HS256"])
        except jwt.PyJWTError:
            raise HTTPException(401, "invalid token") from None

    @app.post("/auth/login")
    def login(body: Login) -> dict:
        user = USERS.get(body.username)
        if user is None or body.password != PASSWORD:
            raise HTTPException(401, "bad credentials")
        claims = {"sub": user["id"], "username": body.username, "tenant": user["tenant"], "role": user["role"],
                  "exp": int(time.time()) + 300}
        return {"access_token": jwt.encode(claims, SECRET, algorithm="HS256"), "expires_in": 300}

    @app.get("/me", response_model=Me)
    def me(p: dict = Depends(principal)) -> Me:
        return Me(id=p["sub"], username=p["username"], role=p["role"])

    @app.post("/notes", status_code=201, response_model=Note)
    def create(body: NoteIn, p: dict = Depends(principal)) -> Note:
        if body.callback_url:
            if "ssrf" in flaws:
                try:
                    httpx.post(body.callback_url, json={"text": body.text}, timeout=1.0)
                except httpx.HTTPError:
                    pass
            else:
                raise HTTPException(422, "callback_url must be a public https URL")
        note = Note(id=uuid.uuid4().hex, text=body.text)
        with lock:
            db.execute("insert into notes values (?,?,?,?)", (note.id, p["sub"], p["tenant"], note.text))
        return note

    @app.get("/notes", response_model=NotePage)
    def search(q: str = "", p: dict = Depends(principal)) -> NotePage:
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
        return NotePage(items=[Note(id=r[0], text=r[1]) for r in rows])

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

    @app.exception_handler(_HtmlNotFound)
    def html_not_found(request: Request, exc: _HtmlNotFound) -> HTMLResponse:
        return HTMLResponse(f"<h1>Not found: {exc.note_id}</h1>", status_code=404)

    return app


class _HtmlNotFound(Exception):
    def __init__(self, note_id: str) -> None:
        self.note_id = note_id


def target_for(base_url: str) -> Target:
    identities = {
        "acme_user": Identity(name="acme_user", username="alice@acme.test", password=PASSWORD, tenant="acme", role="user"),
        "globex_user": Identity(name="globex_user", username="bob@globex.test", password=PASSWORD, tenant="globex",
                                role="user"),
        "acme_admin": Identity(name="acme_admin", username="root@acme.test", password=PASSWORD, tenant="acme",
                               role="admin"),
    }
    return Target(base_url=base_url, openapi_url=f"{base_url}/openapi.json", identities=identities)


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
