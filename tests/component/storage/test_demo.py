"""The demo seed: complete, usable with its documented passwords, and idempotent."""

from callcenter.storage import Storage
from callcenter.storage.demo import seed

from .helpers import at

REALM = "callcenter.local"


def test_demo_seed_is_complete_and_idempotent(store: Storage) -> None:
    first = seed(store, REALM, at())
    assert first.total > 0
    snapshot = (
        store.users.all(),
        store.agents.all(),
        store.queues.all(),
        store.customers.by_phone("13800000001"),
    )
    second = seed(store, REALM, at(60))
    assert second.total == 0
    assert snapshot == (
        store.users.all(),
        store.agents.all(),
        store.queues.all(),
        store.customers.by_phone("13800000001"),
    )


def test_demo_data_as_documented(store: Storage) -> None:
    seed(store, REALM, at())
    assert {q.name for q in store.queues.all()} == {"billing", "repair"}
    assert [a.agent_id for a in store.agents.all()] == [1001, 1002, 1003, 1004, 1009]
    assert [a.extension for a in store.agents.all()][:4] == ["8001", "8002", "8003", "8004"]
    assert store.agents.get(1009).category == "supervisor"  # type: ignore[union-attr]
    assert store.users.authenticate("admin", "admin-demo", at(1)).outcome == "ok"
    assert store.users.authenticate("sup", "sup-demo", at(1)).outcome == "ok"
    assert store.users.authenticate("a1001", "demo1001", at(1)).outcome == "ok"
    assert store.extensions.credentials("8001", REALM) is not None
    customer = store.customers.by_phone("13800000001")[0]
    assert customer.balance_fen == 12340
    sched = store.schedules.get("default")
    assert sched is not None
    assert sorted({h.weekday for h in sched.hours}) == [0, 1, 2, 3, 4, 5]
    assert len(sched.holidays) >= 1
    assert {m.agent_id for m in store.queues.members("billing")} == {1001, 1002, 1004}
    assert store.voicemail.check_pin("agent:1001", "1001")
    assert store.units.all() != []
    assert store.categories.all() != []
