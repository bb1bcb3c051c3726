"""A small shop written with APIFlask (Flask + marshmallow): a foreign test target in a browser-app style.

What the framework generates and the team never touched up: an OpenAPI 3.1 document with **no
security schemes, no operationIds, empty response schemas** and marshmallow schemas **without
`required` fields**; several handlers read the raw JSON (no request body in the spec). Login is
an HTML-style **form** (``POST /login`` with ``user`` and ``pass``) that sets a signed **session
cookie** plus a readable CSRF cookie (double submit: ``X-CSRF-Token`` must equal it on every state
change). Ids are ``sku`` strings and ``order_no`` numbers; users are addressed **by name**
(``/users/{username}``). No tenants. A **per-IP limiter** (default 120 requests / 5 s) answers 429
with Retry-After.

``make_app(defects=DEFECTS)`` switches every defect on; ``make_app()`` is the clean twin:

- ``user_enumeration``: ``POST /login`` says "no such user" (404) or "wrong password" (401).
- ``mass_assignment_register``: ``POST /register`` (public) copies ``role`` from the body.
- ``bola_user_profile``: ``GET /users/{username}`` shows anyone's profile (e-mail, address).
- ``bola_user_email``: ``PUT /users/{username}/email`` changes anyone's e-mail.
- ``bola_product_update``: ``PUT /products/{sku}`` lets any user edit another seller's product.
- ``ssrf_query``: ``GET /products/{sku}/image?url=`` fetches any URL, loopback included.
- ``public_data_exposure``: ``GET /sellers`` (public) lists e-mails and password hashes.
- ``stack_trace``: ``GET /orders/{order_no}`` with a non-number answers 500 with the Python traceback.
- ``csrf_missing``: state changes are accepted without the CSRF header.
- ``ratelimit_xff``: the limiter keys on ``X-Forwarded-For`` when a client sends one.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import logging
import math
import secrets
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from apiflask import APIFlask, Schema
from apiflask.fields import Float, Integer, String
from flask import Response, g, jsonify, make_response, request, session
from marshmallow import INCLUDE
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.serving import make_server

from tests.foreign.common import GOOD_HEADERS

PASSWORD = "Sh0p-pass!"
LOCKOUT_FAILURES, LOCKOUT_S = 5, 30.0
DEFAULT_RATE_LIMIT = (120, 5.0)
CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE = "__Host-csrf", "X-CSRF-Token", "__Host-shop"
DEFECTS: dict[str, dict[str, str]] = {
    "user_enumeration": {"check": "security.auth.user_enumeration", "location": "POST /login"},
    "mass_assignment_register": {"check": "security.authz.mass_assignment", "location": "POST /register"},
    "bola_user_profile": {"check": "security.authz.bola", "location": "GET /users/{username}"},
    "bola_user_email": {"check": "security.authz.bola", "location": "PUT /users/{username}/email"},
    "bola_product_update": {"check": "security.authz.bola", "location": "PUT /products/{sku}"},
    "ssrf_query": {"check": "security.ssrf.loopback_callback", "location": "GET /products/{sku}/image"},
    "public_data_exposure": {"check": "security.authz.data_exposure", "location": "GET /sellers"},
    "stack_trace": {"check": "security.errors.stack_trace", "location": ""},
    "csrf_missing": {"check": "security.csrf.missing_token", "location": ""},
    "ratelimit_xff": {"check": "security.ratelimit.bypass", "location": ""},
}



def identities() -> dict[str, dict[str, Any]]:
    """As a target file lists them: no tenants, the admin by role."""
    return {"alice": {"username": "alice", "password": PASSWORD, "email": "alice@shop.test"},
            "bob": {"username": "bob", "password": PASSWORD, "email": "bob@shop.test"},
            "root": {"username": "root", "password": PASSWORD, "role": "admin"}}


def target_file(base_url: str) -> dict[str, Any]:
    return {"base_url": base_url,
            "login": {"path": "/login", "form": True, "body": {"user": "{username}", "pass": "{password}"}},
            "identities": identities()}


class LoginForm(Schema):
    user = String()
    password = String(data_key="pass")


class RegisterIn(Schema):
    class Meta:
        unknown = INCLUDE  # the handler decides what it keeps

    username = String()
    password = String()
    email = String()


class ProductIn(Schema):
    class Meta:
        unknown = INCLUDE

    name = String()
    price = Float()
    description = String()


class ImageQuery(Schema):
    url = String()


class OrderQuery(Schema):
    page = Integer()


class _Shop:
    def __init__(self, defects: set[str]) -> None:
        self.defects = defects
        self.lock = threading.Lock()
        self.users: dict[str, dict[str, Any]] = {}
        for name, role in (("alice", "customer"), ("bob", "customer"), ("root", "admin"), ("dora", "customer")):
            self.users[name] = {"username": name, "email": f"{name}@shop.test", "role": role,
                                "address": f"{len(name)} Main St", "password_hash": generate_password_hash(PASSWORD)}
        self.products: dict[str, dict[str, Any]] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.order_numbers = itertools.count(1001)
        self.failures: dict[str, deque[float]] = {}
        self.add_product({"name": "teapot", "price": 12.5, "description": "short and stout"}, "dora")

    def has(self, defect: str) -> bool:
        return defect in self.defects

    def add_product(self, fields: dict[str, Any], seller: str) -> dict[str, Any]:
        product = {"sku": "SKU-" + secrets.token_hex(3).upper(), "name": str(fields.get("name") or "unnamed"),
                   "price": float(fields.get("price") or 1.0), "description": str(fields.get("description") or ""),
                   "seller": seller}
        with self.lock:
            self.products[product["sku"]] = product
        return product

    def csrf_for(self, sid: str) -> str:
        return hmac.new(b"shop-csrf", sid.encode(), hashlib.sha256).hexdigest()


def make_app(defects: set[str] | frozenset[str] = frozenset(),
             rate_limit: tuple[int, float] | None = DEFAULT_RATE_LIMIT) -> APIFlask:
    unknown = set(defects) - set(DEFECTS)
    if unknown:
        raise ValueError(f"unknown defects {sorted(unknown)}; known: {sorted(DEFECTS)}")
    shop = _Shop(set(defects))
    app = APIFlask("shop", title="shop", version="1.0", docs_path=None)
    app.config.update(SECRET_KEY=secrets.token_hex(16), SESSION_COOKIE_NAME=SESSION_COOKIE,
                      SESSION_COOKIE_SECURE=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_HTTPONLY=True,
                      PROPAGATE_EXCEPTIONS=False, MAX_CONTENT_LENGTH=64 * 1024)
    app.extensions["shop"] = shop
    _guards(app, shop, rate_limit)
    _account_routes(app, shop)
    _product_routes(app, shop)
    _order_routes(app, shop)
    return app


def _error(status: int, message: str, **headers: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    response.headers.update(headers)
    return response


def _guards(app: APIFlask, shop: _Shop, rate_limit: tuple[int, float] | None) -> None:
    hits: dict[str, deque[float]] = {}
    lock = threading.Lock()

    @app.before_request
    def limit_and_check() -> Response | None:
        if rate_limit:
            limit, window = rate_limit
            key = (request.headers.get("X-Forwarded-For") if shop.has("ratelimit_xff") else None) \
                or request.remote_addr or "?"
            now = time.monotonic()
            with lock:
                log = hits.setdefault(key, deque())
                while log and log[0] <= now - window:
                    log.popleft()
                if len(log) >= limit:
                    return _error(429, "slow down", **{"Retry-After": str(max(1, math.ceil(log[0] + window - now)))})
                log.append(now)
        g.user = shop.users.get(session.get("user", "")) if session.get("sid") else None
        unsafe = request.method in {"POST", "PUT", "PATCH", "DELETE"}
        if unsafe and g.user is not None and request.path not in {"/login", "/register"} \
                and not shop.has("csrf_missing"):
            header, cookie = request.headers.get(CSRF_HEADER, ""), request.cookies.get(CSRF_COOKIE, "")
            expected = shop.csrf_for(session["sid"])
            if not (header and hmac.compare_digest(header, cookie) and hmac.compare_digest(header, expected)):
                return _error(403, "CSRF token missing or invalid")
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        for name, value in GOOD_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers["Server"] = "shop"
        return response

    @app.errorhandler(RecursionError)
    def too_deep(exc: RecursionError) -> Response:
        return _error(400, "JSON nested too deeply")

    @app.errorhandler(500)
    def crashed(exc: Exception) -> Response:
        if shop.has("stack_trace"):
            original = getattr(exc, "original_exception", exc)
            text = "".join(traceback.format_exception(original))
            return make_response(f"Internal Server Error\n\n{text}", 500, {"Content-Type": "text/plain"})
        return _error(500, "internal error")


def _need_user() -> Response | None:
    return _error(401, "log in first") if g.user is None else None


def _account_routes(app: APIFlask, shop: _Shop) -> None:
    @app.post("/login")
    @app.input(LoginForm, location="form")
    def login(form_data: dict[str, Any]) -> Response:
        name, password = form_data.get("user", ""), form_data.get("password", "")
        now = time.monotonic()
        with shop.lock:
            failures = shop.failures.setdefault(name, deque())
            while failures and failures[0] <= now - LOCKOUT_S:
                failures.popleft()
            if len(failures) >= LOCKOUT_FAILURES:
                return _error(429, "too many attempts", **{"Retry-After": str(math.ceil(LOCKOUT_S))})
            user = shop.users.get(name)
            if user is None or not check_password_hash(user["password_hash"], password):
                failures.append(now)
                if shop.has("user_enumeration"):
                    return _error(404, "no such user") if user is None else _error(401, "wrong password")
                return _error(401, "invalid credentials")
        sid = secrets.token_hex(16)
        session.clear()
        session.update(user=name, sid=sid)
        response = jsonify({"ok": True, "user": name, "csrf_header": CSRF_HEADER})
        response.set_cookie(CSRF_COOKIE, shop.csrf_for(sid), secure=True, samesite="Lax", path="/")
        return response

    @app.post("/logout")
    def logout() -> Response:
        session.clear()
        return jsonify({"ok": True})

    @app.post("/register")
    @app.input(RegisterIn)
    def register(json_data: dict[str, Any]) -> Any:
        name = str(json_data.get("username") or "")
        if not name.isalnum() or len(str(json_data.get("password") or "")) < 8:
            return _error(400, "username (letters, digits) and a password of 8+ characters are required")
        with shop.lock:
            if name in shop.users:
                return _error(409, "taken")
            role = str(json_data.get("role", "customer")) if shop.has("mass_assignment_register") else "customer"
            shop.users[name] = {"username": name, "email": str(json_data.get("email") or ""), "role": role,
                                "address": "", "password_hash": generate_password_hash(str(json_data["password"]))}
        return {"username": name, "role": role}, 201

    @app.get("/me")
    def me() -> Any:
        return _need_user() or _profile(g.user)

    @app.get("/users/<username>")
    def profile(username: str) -> Any:
        refused = _need_user() or _may_touch(shop, username)
        return refused or _profile(shop.users[username])

    @app.put("/users/<username>/email")
    def change_email(username: str) -> Any:
        refused = _need_user() or _may_touch(shop, username, write=True)
        if refused:
            return refused
        email = str((request.get_json(silent=True) or {}).get("email") or "")
        if "@" not in email:
            return _error(400, "email must be an e-mail address")
        shop.users[username]["email"] = email
        return _profile(shop.users[username])

    @app.put("/users/<username>/password")
    def change_password(username: str) -> Any:
        refused = _need_user() or _may_touch(shop, username, write=True, defect=None)
        if refused:
            return refused
        password = str((request.get_json(silent=True) or {}).get("password") or "")
        if len(password) < 8:
            return _error(400, "password of 8+ characters required")
        shop.users[username]["password_hash"] = generate_password_hash(password)
        return "", 204

    @app.get("/sellers")
    def sellers() -> Any:
        sellers = {p["seller"] for p in shop.products.values()}
        rows = [shop.users[name] for name in sorted(sellers) if name in shop.users]
        if shop.has("public_data_exposure"):
            return [{k: v for k, v in u.items() if k != "address"} for u in rows]
        return [{"username": u["username"]} for u in rows]


def _profile(user: dict[str, Any]) -> dict[str, Any]:
    return {k: user[k] for k in ("username", "email", "role", "address")}


def _may_touch(shop: _Shop, username: str, *, write: bool = False, defect: str | None = "") -> Response | None:
    if username not in shop.users:
        return _error(404, "no such user")
    defect = ("bola_user_email" if write else "bola_user_profile") if defect == "" else defect
    if g.user["username"] != username and g.user["role"] != "admin" and not (defect and shop.has(defect)):
        return _error(403, "not yours")
    return None


def _product_routes(app: APIFlask, shop: _Shop) -> None:
    @app.get("/products")
    def products() -> Any:
        return list(shop.products.values())

    @app.post("/products")
    @app.input(ProductIn)
    def create_product(json_data: dict[str, Any]) -> Any:
        return _need_user() or (shop.add_product(json_data, g.user["username"]), 201)

    @app.get("/products/<sku>")
    def product(sku: str) -> Any:
        return shop.products.get(sku) or _error(404, "no such product")

    @app.put("/products/<sku>")
    @app.input(ProductIn)
    def update_product(sku: str, json_data: dict[str, Any]) -> Any:
        refused = _need_user()
        product = shop.products.get(sku)
        if refused or product is None:
            return refused or _error(404, "no such product")
        if product["seller"] != g.user["username"] and not shop.has("bola_product_update"):
            return _error(403, "not your product")
        product.update({k: json_data[k] for k in ("name", "price", "description") if k in json_data})
        return product

    @app.delete("/products/<sku>")
    def delete_product(sku: str) -> Any:
        refused = _need_user()
        product = shop.products.get(sku)
        if refused or product is None:
            return refused or _error(404, "no such product")
        if product["seller"] != g.user["username"]:
            return _error(403, "not your product")
        shop.products.pop(sku, None)
        return "", 204

    @app.get("/products/<sku>/image")
    @app.input(ImageQuery, location="query")
    def image(sku: str, query_data: dict[str, Any]) -> Any:
        url = str(query_data.get("url") or "")
        if not url:
            return {"sku": sku, "image": None}
        if not shop.has("ssrf_query"):
            return _error(400, "url must be an https URL of our image CDN")
        try:
            fetched = httpx.get(url, timeout=1.0)
        except httpx.HTTPError:
            return _error(502, "could not fetch the image")
        return {"sku": sku, "bytes": len(fetched.content)}


def _order_routes(app: APIFlask, shop: _Shop) -> None:
    @app.get("/orders")
    @app.input(OrderQuery, location="query")
    def orders(query_data: dict[str, Any]) -> Any:
        refused = _need_user()
        return refused or [o for o in shop.orders.values() if o["buyer"] == g.user["username"]]

    @app.post("/orders")
    def create_order() -> Any:
        refused = _need_user()
        if refused:
            return refused
        body = request.get_json(silent=True) or {}
        product = shop.products.get(str(body.get("sku", "")))
        if product is None:
            return _error(400, "sku of an existing product required")
        order = {"order_no": next(shop.order_numbers), "sku": product["sku"], "qty": int(body.get("qty") or 1),
                 "buyer": g.user["username"]}
        shop.orders[order["order_no"]] = order
        return order, 201

    @app.get("/orders/<order_no>")
    def order(order_no: str) -> Any:
        refused = _need_user()
        if refused:
            return refused
        if shop.has("stack_trace"):
            number = int(order_no)  # a non-number raises: the 500 handler prints the traceback
        elif order_no.isdigit():
            number = int(order_no)
        else:
            return _error(404, "no such order")
        found = shop.orders.get(number)
        if found is None or found["buyer"] != g.user["username"]:
            return _error(404, "no such order")
        return found


@contextmanager
def serve(app: APIFlask) -> Iterator[str]:
    """Run the app with werkzeug's threaded server on a free loopback port; always stopped."""
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)  # probes cause errors on purpose: keep logs quiet
    app.logger.setLevel(logging.CRITICAL)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
