"""Cookie session flow: ``__Host-`` cookies and the signed double-submit CSRF token."""

from __future__ import annotations

from typing import Any

from tests.refsys.conftest import IDENTITIES, PASSWORD, Gateway


async def session_login(gw: Gateway, who: str = "acme_user") -> tuple[str, str]:
    """Returns (session id, csrf token) read from the Set-Cookie headers."""
    response = await gw.client.post("/session/login", json={"username": IDENTITIES[who], "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.cookies["__Host-session"], response.cookies["__Host-csrf"]


def cookie_header(session: str, csrf: str) -> dict[str, str]:
    return {"Cookie": f"__Host-session={session}; __Host-csrf={csrf}"}


async def test_session_cookies_are_host_prefixed_secure_httponly_samesite_strict(gateway: Gateway) -> None:
    response = await gateway.client.post("/session/login",
                                         json={"username": IDENTITIES["acme_user"], "password": PASSWORD})
    set_cookies = {line.split("=", 1)[0]: line.lower() for line in response.headers.get_list("set-cookie")}
    session, csrf = set_cookies["__Host-session"], set_cookies["__Host-csrf"]
    for attributes in (session, csrf):
        assert "secure" in attributes and "samesite=strict" in attributes and "path=/" in attributes
        assert "domain=" not in attributes
    assert "httponly" in session and "httponly" not in csrf  # the page must read the CSRF token
    assert response.json()["csrf_header"] == "X-CSRF-Token"


async def test_state_change_needs_matching_signed_csrf_token(gateway: Gateway) -> None:
    session, csrf = await session_login(gateway)
    body = {"text": "good morning"}
    post = gateway.client.post
    missing = await post("/session/analyses", json=body, headers=cookie_header(session, csrf))
    mismatch = await post("/session/analyses", json=body,
                          headers={**cookie_header(session, csrf), "X-CSRF-Token": csrf + "x"})
    # an attacker who can plant a cookie sends a matching pair it made up: the signature fails
    forged = "attacker.0000"
    unsigned_pair = await post("/session/analyses", json=body,
                               headers={**cookie_header(session, forged), "X-CSRF-Token": forged})
    # a token signed for another session does not transfer
    _, other_csrf = await session_login(gateway, "acme_admin")
    other = await post("/session/analyses", json=body,
                       headers={**cookie_header(session, other_csrf), "X-CSRF-Token": other_csrf})
    ok = await post("/session/analyses", json=body, headers={**cookie_header(session, csrf), "X-CSRF-Token": csrf})
    assert [r.status_code for r in (missing, mismatch, unsigned_pair, other, ok)] == [403, 403, 403, 403, 201]


async def test_session_logout_requires_csrf_and_ends_the_session(gateway: Gateway) -> None:
    session, csrf = await session_login(gateway)
    headers = cookie_header(session, csrf)
    assert (await gateway.client.post("/session/logout", headers=headers)).status_code == 403
    assert (await gateway.client.post("/session/logout", headers={**headers, "X-CSRF-Token": csrf})).status_code == 204
    assert (await gateway.client.get("/session/me", headers=headers)).status_code == 401


async def test_no_state_changing_get(gateway: Gateway) -> None:
    """Every GET in the published API is safe: none of them is an action."""
    spec = (await gateway.client.get("/openapi.json")).json()
    get_ids = {op["operationId"] for item in spec["paths"].values() for method, op in item.items() if method == "get"}
    assert get_ids == {"sessionMe", "listAnalyses", "getAnalysis", "getMe", "adminListUsers", "healthz",
                       "readyz", "metrics"}


async def test_defect_csrf_unsigned_accepts_any_matching_pair(make_gateway: Any) -> None:
    gw = await make_gateway(defects="csrf_unsigned")
    session, _ = await session_login(gw)
    forged = "attacker-chosen"
    response = await gw.client.post("/session/analyses", json={"text": "pwned"},
                                    headers={**cookie_header(session, forged), "X-CSRF-Token": forged})
    assert response.status_code == 201
