"""Live configuration through the API: hot-desking (an agent's calls ring the seat it logged in
at), queue memberships that restrict the queues an agent serves, trunks and working hours
applied without a restart."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from callcenter.acd import OfferToAgent
from callcenter.dialplan import Destination

from .conftest import BACKENDS, Api

SH = ZoneInfo("Asia/Shanghai")


def post(api: Api, who: str, path: str, body: object = None) -> tuple[int, dict]:  # type: ignore[type-arg]
    r = api.client.post(f"/api/v1/{path}", json=body, headers=api.auth(who))
    api.client.cookies.clear()
    return r.status_code, r.json()


def login(api: Api, who: str, agent_id: str, seat: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    return post(api, who, "agent/login", {"agent_id": agent_id, "seat": seat})


# ------------------------------------------------------------ hot-desking
@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_hot_desk_rings_the_seat_until_logout(api: Api) -> None:
    directory = api.center.directory
    assert directory.extension_of("1001") == "8001"
    status, body = login(api, "a1001", "1001", "8100")  # the demo's plain phone
    assert status == 200, body
    assert body["seat"] == "8100"
    assert directory.extension_of("1001") == "8100"
    assert directory.agent_at("8100") == "1001" and directory.agent_at("8001") is None
    # nobody else may log in at that phone meanwhile
    api.store.seats.create("9100", extension="8100", location="lobby")
    status, body = login(api, "a1002", "1002", "9100")
    assert (status, body["error"]["code"]) == (409, "seat_in_use")
    assert directory.extension_of("1002") == "8002"
    status, _ = post(api, "a1001", "agent/logout")
    assert status == 200
    assert directory.extension_of("1001") == "8001"
    # a seat number wired to a phone: the calls ring that phone
    status, body = login(api, "a1002", "1002", "9100")
    assert status == 200 and body["seat"] == "8100", body
    assert directory.extension_of("1002") == "8100"


def test_hot_desk_at_a_colleagues_phone_blocks_the_colleague(api: Api) -> None:
    status, body = login(api, "a1001", "1001", "8002")
    assert status == 200 and body["seat"] == "8002", body
    status, body = login(api, "a1002", "1002", "8002")
    assert (status, body["error"]["code"]) == (409, "seat_in_use")
    # a supervisor's force logout ends the hot-desk too
    status, _ = post(api, "sup", "supervisor/agents/1001/force-logout")
    assert status == 200
    api.wait(lambda: api.center.directory.extension_of("1001") == "8001")
    status, body = login(api, "a1002", "1002", "8002")
    assert status == 200, body


@pytest.mark.parametrize(
    ("seat", "status", "code"),
    [("9200", 409, "seat_not_assigned"), ("7777", 404, "unknown_seat")],
)
def test_hot_desk_refusals(api: Api, seat: str, status: int, code: str) -> None:
    api.store.seats.create("9200", location="no phone yet")
    got, body = login(api, "a1001", "1001", seat)
    assert (got, body["error"]["code"]) == (status, code), body
    assert api.center.acd.agents() == []
    assert api.center.directory.extension_of("1001") == "8001"


def test_offer_goes_to_the_hot_desk_seat(api: Api) -> None:
    status, _ = login(api, "a1001", "1001", "8100")
    assert status == 200
    center = api.center
    out = center.acd.enqueue("call-hd", "billing", center.now())
    offer = next(o for o in out if isinstance(o, OfferToAgent))
    assert offer.agent_id == "1001"
    # the offer path (calls/inbound.py) rings directory.extension_of(agent)
    assert center.directory.extension_of(offer.agent_id) == "8100"


# ------------------------------------------------------ queue memberships
@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_memberships_restrict_the_queues_served(api: Api) -> None:
    status, body = login(api, "a1002", "1002", "8002")
    assert status == 200 and sorted(body["queues"]) == ["billing", "repair"], body
    sup = api.auth("sup")
    api.client.cookies.clear()
    r = api.client.put(
        "/api/v1/supervisor/agents/1002/queues", json={"queues": [{"queue": "billing"}]},
        headers=sup,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert [q for q, _ in api.center.acd.agent_view("1002").queues] == ["billing"]
    body3 = {"agent_id": "1003", "seat": "8003", "ready": False}  # repair keeps a member
    r = api.client.post("/api/v1/agent/login", json=body3, headers=api.auth("a1003", "demo1003"))
    assert r.status_code == 200, r.text
    api.client.cookies.clear()
    out = api.center.acd.enqueue("call-r", "repair", api.center.now())
    assert [type(o).__name__ for o in out] == ["CallQueued"]
    # back into repair: the caller waiting there is offered to 1002 at once
    body2 = {"queues": [{"queue": "billing"}, {"queue": "repair", "penalty": 1}]}
    r = api.client.put("/api/v1/supervisor/agents/1002/queues", json=body2, headers=sup)
    assert r.status_code == 200, r.text
    offers = [o for o in api.center.applied if isinstance(o, OfferToAgent)]
    assert [(o.call_id, o.agent_id) for o in offers] == [("call-r", "1002")]


def test_agent_without_memberships_serves_by_skills(api: Api) -> None:
    body = {"agent_id": "1009", "seat": "8009", "category": "supervisor"}
    status, answer = post(api, "sup", "agent/login", body)
    assert status == 200, answer
    assert sorted(answer["queues"]) == ["billing", "repair"]  # skills alone (no list stored)


# ------------------------------------------------------ hours and holidays
HOTLINE_OPEN = Destination("flow", "demo_main")
HOTLINE_CLOSED = Destination("flow", "demo_after_hours")


def hotline(api: Api, when: datetime) -> Destination:
    plan = api.center.dialplan
    return plan.route("95598", "13800000001", when).destination


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_schedule_and_holiday_changes_route_the_next_call(api: Api) -> None:
    admin = api.auth("admin")
    api.client.cookies.clear()
    sunday_10 = datetime(2026, 3, 8, 10, tzinfo=SH)
    assert hotline(api, sunday_10) == HOTLINE_CLOSED  # the demo file: closed on Sundays
    hours = [{"weekday": d, "opens": "08:00", "closes": "20:00"} for d in range(7)]
    body = {"timezone": "Asia/Shanghai", "hours": hours}
    r = api.client.put("/api/v1/admin/schedules/default", json=body, headers=admin)
    assert r.status_code == 200, r.text
    assert hotline(api, sunday_10) == HOTLINE_OPEN
    r = api.client.post("/api/v1/admin/schedules/default/holidays", headers=admin,
                        json={"day": "2026-03-08", "name": "演练"})  # fmt: skip
    assert r.status_code == 201, r.text
    assert hotline(api, sunday_10) == HOTLINE_CLOSED  # the holiday rule: after-hours flow
    route = api.center.dialplan.route("95598", "13800000001", sunday_10)
    assert route.rule == "hotline-holiday"
    r = api.client.delete("/api/v1/admin/schedules/default/holidays/2026-03-08", headers=admin)
    assert r.status_code == 200
    assert hotline(api, sunday_10) == HOTLINE_OPEN


def test_unknown_time_zone_is_refused_and_nothing_changes(api: Api) -> None:
    admin = api.auth("admin")
    api.client.cookies.clear()
    before = api.store.schedules.get("default")
    body = {"timezone": "Mars/Olympus", "hours": []}
    r = api.client.put("/api/v1/admin/schedules/default", json=body, headers=admin)
    assert r.status_code == 422 and "Mars/Olympus" in r.json()["error"]["message"]
    assert api.store.schedules.get("default") == before


# ------------------------------------------------------------------ trunks
def test_trunk_changes_apply_live(api: Api) -> None:
    admin = api.auth("admin")
    api.client.cookies.clear()
    body = {"name": "carrier", "host": "127.0.0.1", "port": 5070, "register": True}
    r = api.client.post("/api/v1/admin/trunks", json=body, headers=admin)
    assert r.status_code == 201, r.text
    trunk_id = r.json()["id"]
    assert api.center.trunk_loads[-1] == ["carrier"]
    r = api.client.patch(f"/api/v1/admin/trunks/{trunk_id}", json={"enabled": False},
                         headers=admin)  # fmt: skip
    assert r.status_code == 200 and api.center.trunk_loads[-1] == []
    r = api.client.patch(f"/api/v1/admin/trunks/{trunk_id}", json={"enabled": True},
                         headers=admin)  # fmt: skip
    assert api.center.trunk_loads[-1] == ["carrier"]
    r = api.client.delete(f"/api/v1/admin/trunks/{trunk_id}", headers=admin)
    assert r.status_code == 200 and api.center.trunk_loads[-1] == []
