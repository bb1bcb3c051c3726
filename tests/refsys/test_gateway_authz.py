"""Authorization matrix: object ownership (BOLA), admin functions (BFLA), mass assignment, exposure."""

from __future__ import annotations

from typing import Any

from tests.refsys.conftest import Gateway


async def test_objects_are_visible_to_owner_and_own_tenant_admin_only(gateway: Gateway) -> None:
    alice = await gateway.auth("acme_user")
    created = await gateway.create(alice)
    path = f"/analyses/{created['id']}"
    statuses = {who: (await gateway.client.get(path, headers=await gateway.auth(who))).status_code
                for who in ("acme_user", "acme_admin", "globex_user", "globex_admin")}
    assert statuses == {"acme_user": 200, "acme_admin": 200, "globex_user": 404, "globex_admin": 404}
    bob = await gateway.auth("globex_user")
    assert (await gateway.client.delete(path, headers=bob)).status_code == 404
    assert (await gateway.client.get(path, headers=alice)).status_code == 200


async def test_lists_only_show_what_the_caller_may_see(gateway: Gateway) -> None:
    alice, adam, bob = [await gateway.auth(w) for w in ("acme_user", "acme_admin", "globex_user")]
    await gateway.create(alice, "alice text")
    await gateway.create(adam, "adam text")
    texts = {who: {item["text"] for item in (await gateway.client.get("/analyses", headers=h)).json()["items"]}
             for who, h in (("alice", alice), ("adam", adam), ("bob", bob))}
    assert texts == {"alice": {"alice text"}, "adam": {"alice text", "adam text"}, "bob": set()}


async def test_defect_bola_exposes_other_tenants_objects(make_gateway: Any) -> None:
    gw = await make_gateway(defects="bola")
    created = await gw.create(await gw.auth("acme_user"))
    bob = await gw.auth("globex_user")
    assert (await gw.client.get(f"/analyses/{created['id']}", headers=bob)).status_code == 200
    assert (await gw.client.delete(f"/analyses/{created['id']}", headers=bob)).status_code == 204


async def test_admin_functions_are_forbidden_to_users(gateway: Gateway) -> None:
    alice, adam = await gateway.auth("acme_user"), await gateway.auth("acme_admin")
    created = await gateway.create(alice)
    assert (await gateway.client.get("/admin/users", headers=alice)).status_code == 403
    assert (await gateway.client.delete(f"/admin/analyses/{created['id']}", headers=alice)).status_code == 403
    users = (await gateway.client.get("/admin/users", headers=adam)).json()
    assert {u["username"] for u in users} == {"alice@acme.test", "adam@acme.test"}  # own tenant only
    grace = await gateway.auth("globex_admin")
    assert (await gateway.client.delete(f"/admin/analyses/{created['id']}", headers=grace)).status_code == 404
    assert (await gateway.client.delete(f"/admin/analyses/{created['id']}", headers=adam)).status_code == 204


async def test_defect_bfla_opens_admin_functions_to_users(make_gateway: Any) -> None:
    gw = await make_gateway(defects="bfla")
    alice = await gw.auth("acme_user")
    assert (await gw.client.get("/admin/users", headers=alice)).status_code == 200


async def test_clients_cannot_set_role_tenant_or_owner(gateway: Gateway) -> None:
    alice = await gateway.auth("acme_user")
    create = await gateway.client.post("/analyses", json={"text": "x", "tenant_id": "globex", "owner_id": "u-bob"},
                                       headers=alice)
    patch = await gateway.client.patch("/me", json={"display_name": "A", "role": "admin"}, headers=alice)
    assert (create.status_code, patch.status_code) == (422, 422)
    assert (await gateway.client.get("/me", headers=alice)).json()["role"] == "user"


async def test_defect_mass_assignment_lets_users_promote_themselves(make_gateway: Any) -> None:
    gw = await make_gateway(defects="mass_assignment")
    alice = await gw.auth("acme_user")
    patch = await gw.client.patch("/me", json={"display_name": "A", "role": "admin"}, headers=alice)
    assert patch.status_code == 200 and patch.json()["role"] == "admin"
    promoted = await gw.auth("acme_user")  # a fresh login carries the new role
    assert (await gw.client.get("/admin/users", headers=promoted)).status_code == 200
    planted = await gw.client.post("/analyses", json={"text": "x", "tenant_id": "globex", "owner_id": "u-bob"},
                                   headers=alice)
    bob = await gw.auth("globex_user")
    assert (await gw.client.get(f"/analyses/{planted.json()['id']}", headers=bob)).status_code == 200


async def test_responses_carry_no_internal_fields(gateway: Gateway) -> None:
    alice, adam = await gateway.auth("acme_user"), await gateway.auth("acme_admin")
    created = await gateway.create(alice)
    bodies = [created, (await gateway.client.get("/me", headers=alice)).json(),
              (await gateway.client.get("/admin/users", headers=adam)).json()[0]]
    for body in bodies:
        assert not {"password_hash", "internal_notes", "owner_email", "email"} & body.keys()


async def test_defect_data_exposure_leaks_hashes_and_internal_notes(make_gateway: Any) -> None:
    gw = await make_gateway(defects="data_exposure")
    alice = await gw.auth("acme_user")
    created = await gw.create(alice)
    assert {"internal_notes", "owner_email"} <= created.keys()
    me = (await gw.client.get("/me", headers=alice)).json()
    assert me["password_hash"].startswith("scrypt$")
