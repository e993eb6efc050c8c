"""Configuration repositories: skills, agents (工号 range), seats, queues and members, IVR flow
versions, prompts, business hours and holidays, business categories, typed system parameters."""

from datetime import date, time

import pytest
from sqlalchemy import text

from callcenter.storage import Conflict, NotFound, Storage, ValidationFailed
from callcenter.storage.repos.queues import QueueSettings
from callcenter.storage.repos.settings import OpenSpan
from callcenter.storage.schema.base import AGENT_ID_MAX, AGENT_ID_MIN

from .helpers import at


@pytest.fixture
def skilled(store: Storage) -> Storage:
    store.skills.create("billing", "电费查询")
    store.skills.create("repair", "故障报修")
    store.extensions.create("8001", at())
    return store


def test_agent_with_skills_extension_and_user(skilled: Storage) -> None:
    user = skilled.users.create("a1001", "王芳", "agent", "secret-1", at())
    agent = skilled.agents.create(
        1001, "王芳", "agent", at(), skills={"billing": 5}, user_id=user.id, extension="8001"
    )
    assert (agent.extension, agent.skills, agent.user_id) == ("8001", {"billing": 5}, user.id)
    assert skilled.agents.get_by_user(user.id) == agent
    assert skilled.agents.id_of_user(user.id) == (1001, True)
    skilled.agents.update(1001, enabled=False)
    assert skilled.agents.id_of_user(user.id) == (1001, False)
    skilled.agents.update(1001, enabled=True)
    assert skilled.agents.id_of_user(user.id + 1) is None
    again = skilled.agents.set_skills(1001, {"billing": 2, "repair": 7})
    assert again.skills == {"billing": 2, "repair": 7}
    skilled.agents.set_wrapup(1001, 45)
    assert skilled.agents.get(1001).wrapup_seconds == 45  # type: ignore[union-attr]


@pytest.mark.parametrize("agent_id", [AGENT_ID_MIN - 1, AGENT_ID_MAX + 1, -5, 0])
def test_agent_id_out_of_range_is_refused(skilled: Storage, agent_id: int) -> None:
    with pytest.raises(ValidationFailed):
        skilled.agents.create(agent_id, "X", "agent", at())
    assert skilled.agents.all() == []


def test_database_also_refuses_out_of_range_agent_ids(skilled: Storage) -> None:
    """The CHECK constraint guards writers that bypass the repository."""
    with pytest.raises(Conflict), skilled.db.transaction() as s:
        s.execute(
            text(
                "INSERT INTO agents (agent_id, name, category, enabled, created_at)"
                " VALUES (12, 'x', 'agent', true, :t)"
            ),
            {"t": at()},
        )


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"category": "boss"}, ValidationFailed),
        ({"skills": {"billing": 11}}, ValidationFailed),
        ({"skills": {"billing": 0}}, ValidationFailed),
        ({"skills": {"cooking": 3}}, NotFound),
        ({"extension": "9999"}, NotFound),
    ],
)
def test_agent_create_refuses_bad_input_and_writes_nothing(
    skilled: Storage, kwargs: dict[str, object], error: type[Exception]
) -> None:
    args: dict[str, object] = {"category": "agent"} | kwargs
    category = str(args.pop("category"))
    with pytest.raises(error):
        skilled.agents.create(1002, "Y", category, at(), **args)  # type: ignore[arg-type]
    assert skilled.agents.get(1002) is None


def test_duplicate_agent_id_is_a_conflict(skilled: Storage) -> None:
    skilled.agents.create(1001, "A", "agent", at())
    with pytest.raises(Conflict):
        skilled.agents.create(1001, "B", "supervisor", at())
    assert skilled.agents.get(1001).name == "A"  # type: ignore[union-attr]


def test_seats(skilled: Storage) -> None:
    seat = skilled.seats.create("S01", extension="8001", location="2F")
    assert skilled.seats.get_by_number("S01") == seat
    assert seat.extension == "8001"
    skilled.seats.delete(seat.id)
    assert skilled.seats.all() == []


def test_queue_settings_skills_and_members(skilled: Storage) -> None:
    settings = QueueSettings(
        strategy="ring_all",
        ring_timeout_seconds=12,
        max_wait_seconds=60,
        overflow_destination="voicemail:queue:billing",
        recording_policy="all",
        sl_target_seconds=15,
        sl_target_percent=90,
        announcements={"position_every_seconds": 30},
    )
    q = skilled.queues.create("billing", "电费查询", at(), settings, {"billing": 3})
    assert (q.settings, q.skills) == (settings, {"billing": 3})
    for agent_id in (1003, 1001, 1002):
        skilled.agents.create(agent_id, f"A{agent_id}", "agent", at())
    skilled.queues.add_member("billing", 1003, 0)
    skilled.queues.add_member("billing", 1001, 2)
    skilled.queues.add_member("billing", 1002, 0)
    skilled.queues.add_member("billing", 1001, 1)  # re-penalise, not duplicate
    members = [(m.agent_id, m.penalty) for m in skilled.queues.members("billing")]
    assert members == [(1002, 0), (1003, 0), (1001, 1)]
    assert [m.queue for m in skilled.queues.queues_of(1001)] == ["billing"]
    assert skilled.queues.remove_member("billing", 1001) is True
    assert skilled.queues.remove_member("billing", 1001) is False


def test_queue_update_replaces_settings(skilled: Storage) -> None:
    skilled.queues.create("repair", "故障报修", at())
    new = QueueSettings(strategy="random", wrapup_seconds=0, weight=5)
    updated = skilled.queues.update("repair", new, enabled=False)
    assert (updated.settings, updated.enabled) == (new, False)
    assert skilled.queues.set_skills("repair", {"repair": 4}).skills == {"repair": 4}


@pytest.mark.parametrize(
    "settings",
    [
        QueueSettings(strategy="fastest"),
        QueueSettings(ring_timeout_seconds=0),
        QueueSettings(sl_target_percent=101),
        QueueSettings(recording_policy="sometimes"),
        QueueSettings(max_length=0),
    ],
)
def test_queue_settings_are_validated(skilled: Storage, settings: QueueSettings) -> None:
    with pytest.raises(ValidationFailed):
        skilled.queues.create("bad", "Bad", at(), settings)
    assert skilled.queues.get("bad") is None


def test_member_of_unknown_queue_or_agent(skilled: Storage) -> None:
    skilled.queues.create("billing", "电费查询", at())
    with pytest.raises(NotFound):
        skilled.queues.add_member("billing", 1005)
    with pytest.raises(NotFound):
        skilled.queues.members("nope")


def test_flow_versions_are_immutable_and_one_is_active(store: Storage) -> None:
    v1 = store.flows.add_version("main", {"start": "welcome", "v": 1}, "admin", at())
    v2 = store.flows.add_version("main", {"start": "menu", "v": 2}, "admin", at(1))
    assert (v1.version, v2.version, v2.active) == (1, 2, False)
    assert store.flows.active("main") is None
    store.flows.activate("main", 2)
    store.flows.activate("main", 1)
    assert [f.active for f in store.flows.versions("main")] == [True, False]
    again = store.flows.get("main", 1)
    assert again is not None
    assert (again.body, again.created_at, again.active) == (v1.body, v1.created_at, True)
    with pytest.raises(Conflict):
        store.flows.add_version("main", {}, "admin", at(2), version=2)
    assert store.flows.add_version("main", {}, "admin", at(2), version=7).version == 7
    with pytest.raises(NotFound):
        store.flows.activate("main", 3)
    assert store.flows.names() == ["main"]


def test_prompts_put_replaces(store: Storage) -> None:
    store.prompts.put("welcome", "zh", at(), text="您好")
    store.prompts.put("welcome", "zh", at(1), file_path="/var/prompts/welcome.wav")
    got = store.prompts.get("welcome", "zh")
    assert got is not None
    assert (got.text, got.file_path, got.updated_at) == (None, "/var/prompts/welcome.wav", at(1))
    with pytest.raises(ValidationFailed):
        store.prompts.put("empty", "zh", at())
    store.prompts.delete("welcome", "zh")
    assert store.prompts.all() == []


def test_schedule_hours_and_holidays(store: Storage) -> None:
    spans = [OpenSpan(d, time(8), time(20)) for d in range(6)]
    sched = store.schedules.put("default", "Asia/Shanghai", spans)
    assert sched.hours == tuple(spans)
    store.schedules.add_holiday("default", date(2026, 10, 1), "国庆节")
    store.schedules.put("default", "Asia/Shanghai", spans[:5])  # hours replaced, holiday kept
    got = store.schedules.get("default")
    assert got is not None
    assert (len(got.hours), [h.name for h in got.holidays]) == (5, ["国庆节"])
    with pytest.raises(Conflict):
        store.schedules.add_holiday("default", date(2026, 10, 1), "again")
    with pytest.raises(ValidationFailed):
        store.schedules.put("bad", "UTC", [OpenSpan(7, time(8), time(9))])
    with pytest.raises(ValidationFailed):
        store.schedules.put("bad", "UTC", [OpenSpan(1, time(9), time(8))])
    assert store.schedules.remove_holiday("default", date(2026, 10, 1)) is True


def test_business_categories(store: Storage) -> None:
    store.categories.put("repair", "故障报修", sort_order=2)
    store.categories.put("billing", "电费查询", sort_order=1)
    store.categories.set_enabled("repair", False)
    assert [c.code for c in store.categories.all()] == ["billing", "repair"]
    assert [c.code for c in store.categories.all(enabled_only=True)] == ["billing"]


@pytest.mark.parametrize("value", [True, 0, 7, -3, 2.5, 1.0, "文本", {"a": [1, 2]}, [1, "x", None]])
def test_system_params_keep_their_type(store: Storage, value: object) -> None:
    store.params.set("k", value, at())  # type: ignore[arg-type]
    got = store.params.get("k")
    assert got == value
    assert type(got) is type(value)


def test_system_params_all_and_delete(store: Storage) -> None:
    store.params.set("b", 1, at(), "the b")
    store.params.set("a", "x", at())
    assert store.params.all() == {"a": "x", "b": 1}
    store.params.delete("a")
    assert store.params.get("a") is None
    with pytest.raises(ValidationFailed):
        store.params.set("c", object(), at())  # type: ignore[arg-type]
