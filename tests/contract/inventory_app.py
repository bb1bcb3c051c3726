"""A second OpenAPI app for the contract suite: a tiny inventory API with ONE known bug.

It shows the contract suite needs nothing from the reference system but an OpenAPI URL and test
identities. The bug: ``POST /items`` divides by ``quantity`` to compute a unit price, so
``quantity == 0`` (valid per the schema, ``minimum: 0``) crashes with a 500.

Run: ``python -m tests.contract.inventory_app`` — it binds a free port on 127.0.0.1 and prints it
on the first line of stdout. ``TOKEN_TTL_S`` (default 300) sets how long an access token lives,
so token refresh can be exercised; ``LOGINS_FILE`` (optional) gets one line per successful login.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from typing import Annotated

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

USERS = {"ada@inventory.test": "pw-ada-123", "bob@inventory.test": "pw-bob-123"}
TOKEN_TTL_S = float(os.environ.get("TOKEN_TTL_S", "300"))
LOGINS_FILE = os.environ.get("LOGINS_FILE")

app = FastAPI(title="inventory", version="1.0.0")
bearer = HTTPBearer(auto_error=False)
_tokens: dict[str, tuple[str, float]] = {}  # token -> (user, expires at)
_items: dict[int, dict] = {}
_lock = threading.Lock()


class Login(BaseModel):
    username: str
    password: str


class Tokens(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"


class NewItem(BaseModel):
    name: str = Field(min_length=1, max_length=40)
    price_cents: int = Field(ge=0, le=1_000_000)
    quantity: int = Field(ge=0, le=1000)


class Item(NewItem):
    id: int
    owner: str
    unit_price_cents: int


class Problem(BaseModel):
    detail: str


def current_user(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    entry = _tokens.get(credentials.credentials) if credentials else None
    if entry is None or entry[1] < time.monotonic():
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing, unknown or expired bearer token")
    return entry[0]


@app.post("/auth/login", response_model=Tokens, responses={401: {"model": Problem}})
def login(body: Login) -> Tokens:
    if USERS.get(body.username) != body.password:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    token = secrets.token_urlsafe(16)
    _tokens[token] = (body.username, time.monotonic() + TOKEN_TTL_S)
    if LOGINS_FILE:
        with open(LOGINS_FILE, "a") as out:
            out.write(body.username + "\n")
    return Tokens(access_token=token, refresh_token=secrets.token_urlsafe(16))


ITEM_LINKS = {
    "GetItem": {"operationId": "getItem", "parameters": {"item_id": "$response.body#/id"}},
    "DeleteItem": {"operationId": "deleteItem", "parameters": {"item_id": "$response.body#/id"}},
}


@app.post("/items", status_code=201, response_model=Item, operation_id="createItem",
          responses={201: {"links": ITEM_LINKS}, 401: {"model": Problem}})
def create_item(body: NewItem, user: Annotated[str, Depends(current_user)]) -> Item:
    unit = body.price_cents // body.quantity  # THE KNOWN BUG: quantity 0 is valid and crashes here
    with _lock:
        item = Item(id=len(_items) + 1, owner=user, unit_price_cents=unit, **body.model_dump())
        _items[item.id] = item.model_dump()
    return item


@app.get("/items/{item_id}", response_model=Item, operation_id="getItem",
         responses={401: {"model": Problem}, 404: {"model": Problem}})
def get_item(item_id: int, user: Annotated[str, Depends(current_user)]) -> Item:
    item = _items.get(item_id)
    if item is None or item["owner"] != user:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such item")
    return Item(**item)


@app.delete("/items/{item_id}", status_code=204, operation_id="deleteItem",
            responses={401: {"model": Problem}, 404: {"model": Problem}})
def delete_item(item_id: int, user: Annotated[str, Depends(current_user)]) -> None:
    with _lock:
        item = _items.get(item_id)
        if item is None or item["owner"] != user:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such item")
        del _items[item_id]


@app.get("/healthz", operation_id="healthz")
def healthz(request: Request) -> dict[str, str]:
    return {"status": "ok"}


def main() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections queue until uvicorn serves, so the printed port is usable at once
    print(sock.getsockname()[1], flush=True)  # the parent reads the chosen port
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
