"""Click-to-dial from a customer record (``POST /agent/call/dial`` with ``customer_id``): the
call is linked to the customer (its calls list), a bad customer dials nothing, and the agent
who dialled may code the call's wrap-up (another agent may not)."""

from __future__ import annotations

from datetime import UTC, datetime

from .conftest import Api


def post(api: Api, who: str, path: str, body: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    r = api.client.post(f"/api/v1/agent/{path}", json=body, headers=api.auth(who))
    api.client.cookies.clear()
    return r.status_code, r.json()


def opens_cdrs(api: Api) -> None:
    """The fake center's dial opens the call's CDR the way ``OutboundCall.place`` does."""
    dial = api.center.dial

    async def dial_and_open(origin: str | None, ext: str, target: str) -> str:
        key = await dial(origin, ext, target)
        await api.center.store.run(api.store.cdrs.open_call, key, ext, target,
                                   datetime.now(UTC), direction="outbound")  # fmt: skip
        return key

    api.center.dial = dial_and_open  # type: ignore[method-assign]


def test_dial_from_a_customer_record_links_the_call(api: Api) -> None:
    opens_cdrs(api)
    customer = api.store.customers.by_account("3100000001")
    assert customer is not None
    phone = customer.phones[0]
    status, body = post(api, "a1001", "call/dial", {"target": phone, "customer_id": customer.id})
    assert status == 200, body
    assert body["target"] == phone
    assert api.center.dialled == [(None, "8001", phone)]  # not signed in: no ACD origin
    cdr = api.store.cdrs.get(body["call_id"])
    assert cdr is not None and cdr.customer_id == customer.id and cdr.called == phone
    headers = api.auth("a1001")
    api.client.cookies.clear()
    calls = api.client.get(f"/api/v1/customers/{customer.id}/calls", headers=headers).json()
    assert body["call_id"] in [c["call_id"] for c in calls]


def test_a_bad_customer_dials_nothing(api: Api) -> None:
    for customer_id, code in ((999_999, 404), (0, 422), ("x", 422)):
        status, body = post(api, "a1001", "call/dial", {"target": "13800000001",
                                                         "customer_id": customer_id})  # fmt: skip
        assert status == code, body
        assert body["error"]["message"]
    status, body = post(api, "a1001", "call/dial", {"target": "138 0000"})
    assert status == 422 and body["error"]["message"]
    assert api.center.dialled == []


def test_the_agent_who_dialled_codes_the_wrap_up(api: Api) -> None:
    opens_cdrs(api)
    status, body = post(api, "a1001", "call/dial", {"target": "13800000001"})
    assert status == 200, body
    call_id = body["call_id"]
    status, body = post(api, "a1002", "wrapup", {"code": "repair", "call_id": call_id})
    assert status == 404 and body["error"]["code"] == "not_your_call"
    status, body = post(api, "a1001", "wrapup", {"code": "repair", "call_id": call_id})
    assert status == 200, body
    cdr = api.store.cdrs.get(call_id)
    assert cdr is not None and cdr.business_category == "repair" and cdr.agent_id is None
