"""Customers (lookup by phone, account, name, ID number; balance in integer fen), notes, units,
and the complaint-ticket workflow: every (status, target) pair either moves or changes nothing."""

from itertools import product

import pytest

from callcenter.storage import Conflict, InvalidTransition, NotFound, Storage, ValidationFailed
from callcenter.storage.repos.tickets import TRANSITIONS, NewTicket
from callcenter.storage.schema.base import TICKET_STATUSES

from .helpers import at


def _customer(store: Storage, account: str = "3100000001", **kw: object) -> int:
    args: dict[str, object] = {
        "phones": ["13800000001"],
        "address": "北京",
        "balance_fen": 12340,
        "id_number": "110101199001010011",
    } | kw
    return store.customers.create(account, "赵国强", at(), **args).id  # type: ignore[arg-type]


def test_customer_lookups(store: Storage) -> None:
    cid = _customer(store)
    _customer(store, "3100000002", phones=["13800000001", "13900000009"], id_number="x2")
    assert [c.account_no for c in store.customers.by_phone("13800000001")] == [
        "3100000001",
        "3100000002",
    ]
    assert [c.id for c in store.customers.by_phone(" 13900000009 ")] != [cid]
    got = store.customers.by_account("3100000001")
    assert got is not None
    assert (got.balance_fen, got.phones) == (12340, ("13800000001",))
    assert [c.id for c in store.customers.by_id_number("110101199001010011")] == [cid]
    assert len(store.customers.search_name("国强")) == 2
    assert store.customers.search_name("%") == []  # wildcards are literal
    assert store.customers.by_phone("000") == []


def test_balance_is_integer_fen(store: Storage) -> None:
    cid = _customer(store)
    assert store.customers.adjust_balance(cid, -12345, at(1)) == -5
    with pytest.raises(ValidationFailed):
        store.customers.adjust_balance(cid, 1.5, at(2))  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed):
        _customer(store, "3100000003", balance_fen=123.4)
    got = store.customers.get(cid)
    assert got is not None
    assert (got.balance_fen, type(got.balance_fen)) == (-5, int)


def test_customer_update_replaces_phones(store: Storage) -> None:
    cid = _customer(store)
    upd = store.customers.update(cid, at(5), phones=["13700000000", "13700000000"], address="上海")
    assert (upd.phones, upd.address, upd.updated_at) == (("13700000000",), "上海", at(5))
    assert store.customers.by_phone("13800000001") == []
    with pytest.raises(ValidationFailed):
        store.customers.update(cid, at(6), phones=["call me"])
    assert store.customers.get(cid) == upd


def test_duplicate_account_is_a_conflict(store: Storage) -> None:
    _customer(store)
    with pytest.raises(Conflict):
        _customer(store, phones=["13000000000"])
    assert store.customers.by_phone("13000000000") == []


def test_customer_notes(store: Storage) -> None:
    cid = _customer(store)
    store.customers.add_note(cid, "a1001", "来电查询电费", at(1), call_id="c1")
    store.customers.add_note(cid, "a1002", "已回访", at(2))
    assert [n.text for n in store.customers.notes(cid)] == ["来电查询电费", "已回访"]
    with pytest.raises(NotFound):
        store.customers.add_note(cid + 999, "a", "x", at())
    store.customers.delete(cid)
    with pytest.raises(NotFound):
        store.customers.notes(cid)


def test_units_and_members(store: Storage) -> None:
    unit = store.units.create("repair-north", "城北抢修班")
    user = store.users.create("w1", "Worker", "agent", "secret-1", at())
    store.units.add_member(unit.id, user.id)
    store.units.add_member(unit.id, user.id)
    assert store.units.members(unit.id) == [user.id]
    store.units.remove_member(unit.id, user.id)
    assert store.units.members(unit.id) == []
    assert store.units.get_by_code("repair-north") == unit


def _ticket(store: Storage) -> int:
    cid = _customer(store)
    t = store.tickets.create(
        NewTicket("停电投诉", "整栋楼停电", "complaint", "high", cid, "call-1", at(3600)),
        "a1001",
        at(),
    )
    return t.id


def test_ticket_full_life(store: Storage) -> None:
    unit = store.units.create("repair-north", "城北抢修班")
    tid = _ticket(store)
    t = store.tickets.get(tid)
    assert t is not None
    assert (t.status, t.number) == ("new", f"T20260302{tid:06d}")
    store.tickets.transition(tid, "dispatched", "a1001", at(10), unit_id=unit.id)
    store.tickets.comment(tid, "w1", "已派车", at(20))
    store.tickets.transition(tid, "in_progress", "w1", at(30))
    store.tickets.transition(tid, "resolved", "w1", at(40), comment="已恢复供电")
    closed = store.tickets.transition(tid, "closed", "a1001", at(50))
    assert (closed.status, closed.unit_id, closed.updated_at) == ("closed", unit.id, at(50))
    steps = [(h.action, h.from_status, h.to_status) for h in store.tickets.history(tid)]
    assert steps == [
        ("created", None, "new"),
        ("transition", "new", "dispatched"),
        ("comment", None, None),
        ("transition", "dispatched", "in_progress"),
        ("transition", "in_progress", "resolved"),
        ("transition", "resolved", "closed"),
    ]
    assert store.tickets.by_number(closed.number) == closed


def _walk_to(store: Storage, tid: int, status: str, unit_id: int) -> None:
    path = {
        "new": [],
        "dispatched": ["dispatched"],
        "in_progress": ["dispatched", "in_progress"],
        "resolved": ["resolved"],
        "closed": ["resolved", "closed"],
    }[status]
    for step in path:
        store.tickets.transition(tid, step, "t", at(1), unit_id=unit_id)


@pytest.mark.parametrize(("start", "target"), list(product(TICKET_STATUSES, repeat=2)))
def test_every_transition_moves_or_changes_nothing(store: Storage, start: str, target: str) -> None:
    unit = store.units.create("u1", "Unit")
    tid = _ticket(store)
    _walk_to(store, tid, start, unit.id)
    before = (store.tickets.get(tid), store.tickets.history(tid))
    if target in TRANSITIONS[start]:
        moved = store.tickets.transition(tid, target, "t", at(2), unit_id=unit.id)
        assert moved.status == target
        assert len(store.tickets.history(tid)) == len(before[1]) + 1
    else:
        with pytest.raises(InvalidTransition):
            store.tickets.transition(tid, target, "t", at(2), unit_id=unit.id)
        assert (store.tickets.get(tid), store.tickets.history(tid)) == before


def test_dispatch_needs_a_unit_and_changes_nothing_without_one(store: Storage) -> None:
    tid = _ticket(store)
    before = store.tickets.get(tid)
    with pytest.raises(ValidationFailed):
        store.tickets.transition(tid, "dispatched", "a1001", at(1))
    with pytest.raises(NotFound):
        store.tickets.transition(tid, "dispatched", "a1001", at(1), unit_id=424242)
    assert store.tickets.get(tid) == before
    assert len(store.tickets.history(tid)) == 1


def test_ticket_search_and_overdue(store: Storage) -> None:
    unit = store.units.create("u1", "Unit")
    tid = _ticket(store)
    other = store.tickets.create(NewTicket("咨询", "x", "other"), "a1002", at(5)).id
    store.tickets.transition(tid, "dispatched", "a", at(6), unit_id=unit.id)
    assert [t.id for t in store.tickets.search()] == [other, tid]
    assert [t.id for t in store.tickets.search(status="dispatched")] == [tid]
    assert [t.id for t in store.tickets.search(unit_id=unit.id)] == [tid]
    assert [t.id for t in store.tickets.search(overdue_at=at(7200))] == [tid]
    assert store.tickets.search(overdue_at=at(60)) == []


def test_ticket_validation(store: Storage) -> None:
    with pytest.raises(ValidationFailed):
        store.tickets.create(NewTicket("t", "d", "c", priority="whenever"), "a", at())
    with pytest.raises(ValidationFailed):
        store.tickets.create(NewTicket(" ", "d", "c"), "a", at())
    with pytest.raises(NotFound):
        store.tickets.create(NewTicket("t", "d", "c", customer_id=424242), "a", at())
    assert store.tickets.search() == []
