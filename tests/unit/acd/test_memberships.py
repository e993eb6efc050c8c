"""Queue memberships: an agent with a membership list serves only those queues (whose skills it
also meets); without one it serves every queue by skills. Changes apply live."""

from __future__ import annotations

from dataclasses import replace

from callcenter.acd import AgentLogin, CallOverflowed, QueueConfig, SkillRequirement
from tests.unit.acd.helpers import make, of, offers

BILLING = QueueConfig("billing", required=(SkillRequirement("billing", 1),))
REPAIR = QueueConfig("repair", required=(SkillRequirement("repair", 1),))
SKILLS = {"billing": 3, "repair": 3}


def test_membership_narrows_the_queues_served() -> None:
    acd = make(BILLING, REPAIR)
    acd.login(AgentLogin("1001", "8001", skills=SKILLS, queues=frozenset({"billing"})), 1.0)
    assert dict(acd.agent_view("1001").queues) == {"billing": 0}
    assert offers(acd.enqueue("c1", "repair", 2.0)) == []
    assert offers(acd.enqueue("c2", "billing", 3.0)) == [("c2", "1001")]


def test_membership_never_widens_past_skills() -> None:
    acd = make(BILLING, REPAIR)
    login = AgentLogin("1001", "8001", skills={"billing": 1}, queues=frozenset({"repair"}))
    acd.login(login, 1.0)
    assert dict(acd.agent_view("1001").queues) == {}


def test_no_membership_list_means_every_queue_by_skills() -> None:
    acd = make(BILLING, REPAIR)
    acd.login(AgentLogin("1001", "8001", skills=SKILLS), 1.0)
    assert sorted(dict(acd.agent_view("1001").queues)) == ["billing", "repair"]


def test_memberships_change_live() -> None:
    acd = make(BILLING, replace(REPAIR, overflow_when_no_agents=False))
    acd.login(AgentLogin("1001", "8001", skills=SKILLS, queues=frozenset({"billing"})), 1.0)
    assert offers(acd.enqueue("c1", "repair", 2.0)) == []
    # joining repair: the waiting caller is offered at once
    assert offers(acd.update_agent_queues("1001", frozenset({"repair"}), 3.0)) == [("c1", "1001")]
    assert dict(acd.agent_view("1001").queues) == {"repair": 0}


def test_leaving_the_last_queue_overflows_its_callers() -> None:
    acd = make(BILLING, REPAIR)
    acd.login(AgentLogin("1001", "8001", skills=SKILLS), 1.0, ready=False)
    acd.enqueue("c1", "repair", 2.0)
    out = acd.update_agent_queues("1001", frozenset({"billing"}), 3.0)
    assert [(o.call_id, o.reason.value) for o in of(CallOverflowed, out)] == [("c1", "no_agents")]
    assert dict(acd.agent_view("1001").queues) == {"billing": 0}


def test_none_restores_skill_membership() -> None:
    acd = make(BILLING, REPAIR)
    acd.login(AgentLogin("1001", "8001", skills=SKILLS, queues=frozenset()), 1.0)
    assert dict(acd.agent_view("1001").queues) == {}
    acd.update_agent_queues("1001", None, 2.0)
    assert sorted(dict(acd.agent_view("1001").queues)) == ["billing", "repair"]
