"""Bearer-token lifecycle: login, claims, rotation, reuse detection, logout, rejected tokens."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt

from tests.refsys.conftest import IDENTITIES, PASSWORD, TEST_SECRET, Gateway

AUD, ISS = "refsys-api", "refsys-gateway"


def forged(claims: dict[str, Any], secret: str = TEST_SECRET, **overrides: Any) -> str:
    return jwt.encode({**claims, **overrides}, secret, algorithm="HS256")


def unsigned(claims: dict[str, Any]) -> str:
    """An ``alg: none`` token (pyjwt refuses to make one with a key, so build it by hand)."""
    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


async def me_status(gw: Gateway, token: str) -> int:
    return (await gw.client.get("/me", headers={"Authorization": f"Bearer {token}"})).status_code


async def test_login_issues_short_lived_hs256_tokens_with_all_claims(gateway: Gateway) -> None:
    tokens = await gateway.login("acme_admin")
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 300
    header = jwt.get_unverified_header(tokens["access_token"])
    claims = jwt.decode(tokens["access_token"], TEST_SECRET, algorithms=["HS256"], audience=AUD, issuer=ISS)
    assert header["alg"] == "HS256"
    assert {"sub", "tenant", "role", "aud", "iss", "exp", "iat", "nbf", "jti"} <= claims.keys()
    assert (claims["tenant"], claims["role"]) == ("acme", "admin")
    assert claims["exp"] - claims["iat"] == 300
    assert await me_status(gateway, tokens["access_token"]) == 200


async def test_wrong_password_is_401_and_repeated_failures_lock_the_account(gateway: Gateway) -> None:
    bad = {"username": IDENTITIES["acme_user"], "password": "wrong"}
    statuses = [(await gateway.client.post("/auth/login", json=bad)).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    good = await gateway.client.post("/auth/login", json={"username": IDENTITIES["acme_user"], "password": PASSWORD})
    assert good.status_code == 429 and int(good.headers["Retry-After"]) > 0
    assert good.headers["content-type"] == "application/problem+json"
    # other accounts are unaffected
    await gateway.login("globex_user")


async def test_refresh_rotates_and_reuse_revokes_the_whole_family(gateway: Gateway) -> None:
    first = await gateway.login()
    second = (await gateway.client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert await me_status(gateway, second["access_token"]) == 200

    reuse = await gateway.client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401 and "reuse" in reuse.json()["detail"]
    # every token of that login is now dead, including the newest pair
    assert await me_status(gateway, second["access_token"]) == 401
    assert await me_status(gateway, first["access_token"]) == 401
    later = await gateway.client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert later.status_code == 401


async def test_defect_refresh_reuse_lets_a_used_refresh_token_work_again(make_gateway: Any) -> None:
    gw = await make_gateway(defects="refresh_reuse")
    first = await gw.login()
    second = (await gw.client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    reuse = await gw.client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 200
    assert await me_status(gw, second["access_token"]) == 200


async def test_logout_revokes_access_token_and_refresh_family(gateway: Gateway) -> None:
    tokens = await gateway.login()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await gateway.client.post("/auth/logout", headers=headers)).status_code == 204
    assert await me_status(gateway, tokens["access_token"]) == 401
    refresh = await gateway.client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401


async def test_tampered_tokens_are_rejected(gateway: Gateway) -> None:
    tokens = await gateway.login()
    good = claims_of(tokens["access_token"])
    now = int(time.time())
    rejected = {
        "alg none": unsigned({**good, "role": "admin"}),
        "bad signature": forged(good, secret="another-secret-another-secret-0123456789"),
        "expired beyond leeway": forged(good, exp=now - 30),
        "nbf in the future": forged(good, nbf=now + 60),
        "wrong audience": forged(good, aud="someone-else"),
        "wrong issuer": forged(good, iss="evil"),
        "refresh token as access": tokens["refresh_token"],
        "missing jti": forged({k: v for k, v in good.items() if k != "jti"}),
    }
    statuses = {name: await me_status(gateway, token) for name, token in rejected.items()}
    assert statuses == {name: 401 for name in rejected}
    # inside the 5 s leeway an expired token still works (clock skew)
    assert await me_status(gateway, forged(good, exp=now - 2)) == 200


async def test_access_token_is_not_a_refresh_token(gateway: Gateway) -> None:
    tokens = await gateway.login()
    response = await gateway.client.post("/auth/refresh", json={"refresh_token": tokens["access_token"]})
    assert response.status_code == 401


async def test_defect_jwt_alg_none_accepts_unsigned_tokens(make_gateway: Any) -> None:
    gw = await make_gateway(defects="jwt_alg_none")
    good = claims_of((await gw.login())["access_token"])
    admin_forgery = unsigned({**good, "role": "admin"})
    assert await me_status(gw, admin_forgery) == 200
    assert (await gw.client.get("/admin/users", headers={"Authorization": f"Bearer {admin_forgery}"})).status_code == 200


async def test_defect_jwt_no_exp_check_accepts_expired_tokens(make_gateway: Any) -> None:
    clean, broken = await make_gateway(), await make_gateway(defects="jwt_no_exp_check")
    for gw, expected in ((clean, 401), (broken, 200)):
        good = claims_of((await gw.login())["access_token"])
        expired = forged(good, exp=int(time.time()) - 3600)
        assert await me_status(gw, expired) == expected


def test_login_failure_limit_is_configurable_from_the_environment() -> None:
    from fixtures.refsys.gateway.settings import GatewaySettings

    settings = GatewaySettings.from_env({"REFSYS_LOGIN_FAILURE_LIMIT": "50", "REFSYS_LOGIN_FAILURE_WINDOW_S": "10"})
    assert (settings.login_failure_limit, settings.login_failure_window_s) == (50, 10)
