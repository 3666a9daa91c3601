"""Configuration over REST: each write is one checked, versioned apply; refusals name the problem."""

from __future__ import annotations

import asyncio
from pathlib import Path

import yaml

from infra.config.store import ConfigStore
from tests.api.conftest import make_settings, running_api

EXAMPLE = Path(__file__).parents[2] / "examples" / "lim.yaml"

ANA = {"id": "ana", "name": "Ana", "time_zone": "Europe/Berlin",
       "contact_methods": [{"id": "ana-sms", "kind": "sms", "address": "+4915100000001"}]}
TEAM = {"id": "core", "members": ["ana"]}


async def test_put_creates_a_user_as_a_new_config_version(api):
    r = await api.put("/api/v1/users/ana", json=ANA)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["created"] and body["applied"] and body["version"] == 1
    assert body["diff"] == "+ user ana"
    listed = (await api.get("/api/v1/users")).json()
    assert [u["id"] for u in listed["items"]] == ["ana"] and listed["version"] == 1
    one = await api.get("/api/v1/users/ana")
    assert one.json()["time_zone"] == "Europe/Berlin" and one.headers["etag"] == '"1"'


async def test_replacing_an_object_reports_the_fields_that_changed(api):
    await api.put("/api/v1/users/ana", json=ANA)
    r = await api.put("/api/v1/users/ana", json={**ANA, "name": "Ana Schmidt"})
    assert r.json()["version"] == 2 and not r.json()["created"]
    assert r.json()["diff"] == "~ user ana: name 'Ana' -> 'Ana Schmidt'"


async def test_putting_the_same_object_again_stores_no_new_version(api):
    await api.put("/api/v1/users/ana", json=ANA)
    again = (await api.put("/api/v1/users/ana", json=ANA)).json()
    assert again["version"] == 1 and not again["applied"] and again["diff"] == "No changes."


async def test_a_dangling_reference_is_refused_and_named(api):
    r = await api.put("/api/v1/teams/core", json=TEAM)
    assert r.status_code == 422
    body = r.json()
    assert body["retryable"] is False
    assert body["problems"] == [{"path": "teams[0].members[0]",
                                 "message": "team 'core' names unknown user 'ana'"}]
    assert "unknown user 'ana'" in body["error"]
    assert ConfigStore(api.app.state.lim.engine).current() is None


async def test_deleting_a_user_a_team_still_names_is_refused(api):
    await api.put("/api/v1/users/ana", json=ANA)
    await api.put("/api/v1/teams/core", json=TEAM)
    r = await api.delete("/api/v1/users/ana")
    assert r.status_code == 422
    assert "deleting user 'ana'" in r.json()["error"]
    assert "teams[0].members[0]" in r.json()["error"]
    assert (await api.get("/api/v1/users/ana")).status_code == 200


async def test_delete_removes_an_unreferenced_object(api):
    await api.put("/api/v1/users/ana", json=ANA)
    r = await api.delete("/api/v1/users/ana")
    assert r.status_code == 200 and r.json()["diff"] == "- user ana"
    missing = await api.get("/api/v1/users/ana")
    assert missing.status_code == 404
    assert missing.json() == {"error": "no user 'ana'", "retryable": False}


async def test_a_bad_field_is_refused_naming_the_field(api):
    r = await api.put("/api/v1/escalation-policies/p1",
                      json={"id": "p1", "steps": [{"after": "soon", "notify": [{"user": "x"}]}]})
    assert r.status_code == 422
    assert r.json()["field"] == "steps.0.after" and "not a duration" in r.json()["error"]
    unknown = await api.put("/api/v1/services/web", json={"id": "web", "tema": "core"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "tema"


async def test_body_id_must_match_the_path(api):
    r = await api.put("/api/v1/users/ana", json={**ANA, "id": "bob"})
    assert r.status_code == 422 and r.json()["error"].startswith("id:")


async def test_if_match_refuses_a_write_based_on_an_old_version(api):
    await api.put("/api/v1/users/ana", json=ANA)
    stale = await api.put("/api/v1/users/ana", json={**ANA, "name": "A"},
                          headers={"If-Match": '"0"'})
    assert stale.status_code == 412 and "version 1" in stale.json()["error"]
    fresh = await api.put("/api/v1/users/ana", json={**ANA, "name": "A"},
                          headers={"If-Match": '"1"'})
    assert fresh.status_code == 200


async def test_every_collection_has_crud(api):
    await api.put("/api/v1/users/ana", json=ANA)
    objects = [
        ("schedules", {"id": "primary", "layers": [
            {"id": "l1", "start": "2026-01-05", "participants": ["ana"]}]}),
        ("escalation-policies", {"id": "p1", "steps": [{"notify": [{"schedule": "primary"}]}]}),
        ("teams", TEAM),
        ("services", {"id": "web", "team": "core", "escalation_policy": "p1"}),
        ("routes", {"id": "web-route", "match": {"service": "web"}, "escalation_policy": "p1",
                    "continue": True}),
    ]
    for path, obj in objects:
        r = await api.put(f"/api/v1/{path}/{obj['id']}", json=obj)
        assert r.status_code == 200, (path, r.text)
        assert (await api.get(f"/api/v1/{path}/{obj['id']}")).json()["id"] == obj["id"]
    route = (await api.get("/api/v1/routes/web-route")).json()
    assert route["continue"] is True
    for path, obj in reversed(objects):
        assert (await api.delete(f"/api/v1/{path}/{obj['id']}")).status_code == 200, path


async def test_the_whole_document_round_trips_as_yaml(api):
    text = EXAMPLE.read_text()
    r = await api.put("/api/v1/config", content=text, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 200, r.text
    assert r.json()["applied"] and "+ user ana" in r.json()["diff"]
    exported = await api.get("/api/v1/config", params={"format": "yaml"})
    assert exported.headers["content-type"].startswith("application/yaml")
    again = await api.put("/api/v1/config", content=exported.text)
    assert again.json()["diff"] == "No changes." and not again.json()["applied"]


async def test_the_whole_document_as_json_with_a_dry_run(api):
    doc = {"version": 1, "users": [ANA]}
    dry = await api.put("/api/v1/config", params={"dry_run": "true"}, json=doc)
    assert dry.json()["dry_run"] and dry.json()["diff"] == "+ user ana"
    assert (await api.get("/api/v1/config")).json()["version"] == 0
    await api.put("/api/v1/config", json=doc)
    current = (await api.get("/api/v1/config")).json()
    assert current["version"] == 1 and current["document"]["users"][0]["id"] == "ana"
    assert current["applied_by"] == "key:test-admin"


async def test_a_bad_document_names_the_line_of_each_problem(api):
    text = yaml.safe_dump({"version": 1, "users": [{"id": "ana", "nmae": "x"}],
                           "teams": [{"id": "t", "members": ["nobody"]}]})
    r = await api.put("/api/v1/config", content=text)
    assert r.status_code == 422
    problems = r.json()["problems"]
    assert any("unknown key 'nmae'; did you mean 'name'?" in p["message"] for p in problems)
    assert all(p["line"] >= 1 for p in problems)


async def test_config_routes_need_an_admin_key(api):
    r = await api.get("/api/v1/users", headers={"Authorization": f"Bearer {api.ingest_key}"})
    assert r.status_code == 403 and r.json()["retryable"] is False
    assert (await api.get("/api/v1/users", headers={"Authorization": ""})).status_code == 401


async def test_a_config_change_reaches_alert_routing_at_once(api):
    await api.put("/api/v1/config", json={"version": 1, "escalation_policies": [
        {"id": "p1", "steps": [{"notify": [{"user": "ana"}]}]}], "users": [ANA],
        "routes": [{"id": "web", "match": {"service": "web"}, "escalation_policy": "p1"}]})
    from workflows.domain.alerts import Alert, AlertStatus, AlertTags
    alert = Alert(id="a", fingerprint="f", source="generic", status=AlertStatus.FIRING,
                  title="t", labels={"service": "web"}, starts_at="2026-01-01T00:00:00Z",
                  tags=AlertTags(service="web"))
    assert api.app.state.lim.router(alert).route_id == "web"


async def test_edits_through_two_replicas_at_once_lose_nothing(tmp_path, api_engine):
    # Two apps on one database are two API replicas: their in-process locks do not see each
    # other, so only the versioned compare-and-swap keeps both people's edits.
    async with running_api(make_settings(tmp_path), api_engine) as one, \
            running_api(make_settings(tmp_path), api_engine) as two:
        users = [{**ANA, "id": f"u{i}", "contact_methods": [
            {"id": f"u{i}-sms", "kind": "sms", "address": f"+491510000{i:04d}"}]}
            for i in range(12)]
        answers = await asyncio.gather(*((one if i % 2 else two).put(f"/api/v1/users/{u['id']}",
                                                                    json=u)
                                         for i, u in enumerate(users)))
        assert [a.status_code for a in answers] == [200] * len(users), [a.text for a in answers]
        listed = (await one.get("/api/v1/users")).json()["items"]
    assert sorted(u["id"] for u in listed) == sorted(u["id"] for u in users)
