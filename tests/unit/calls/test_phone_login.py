"""Phone login with hot-desking and queue memberships (``calls/agents.py``): a phone that
registers logs its owner in with the owner's memberships, unless another agent hot-desks at it;
a phone whose registration ends logs out whoever rings there."""

from __future__ import annotations

import random

from callcenter.acd import Acd, AgentLogin, Output, QueueConfig, SkillRequirement
from callcenter.calls.agents import AgentDirectory, AgentInfo, PhoneLogin
from callcenter.sip.registrar import ContactRegistered, ContactRemoved


def setup() -> tuple[Acd, AgentDirectory, PhoneLogin]:
    acd = Acd(random.Random(1))
    for name in ("billing", "repair"):
        acd.add_queue(QueueConfig(name, required=(SkillRequirement(name, 1),)), 0.0)
    directory = AgentDirectory()
    skills = {"billing": 2, "repair": 2}
    for agent_id, ext in (("1001", "8001"), ("1002", "8002")):
        info = AgentInfo(agent_id, "n", ext, "agent", skills, None)
        directory.by_id[agent_id] = info
        directory.by_extension[ext] = info
    directory.memberships = {"1001": frozenset({"repair"})}
    outputs: list[Output] = []
    return acd, directory, PhoneLogin(acd, directory, lambda: 5.0, outputs.extend)


def registered(ext: str) -> ContactRegistered:
    return ContactRegistered(f"sip:{ext}@cc.local", f"sip:{ext}@127.0.0.1", ("127.0.0.1", 5062), 60)


def removed(ext: str) -> ContactRemoved:
    return ContactRemoved(f"sip:{ext}@cc.local", f"sip:{ext}@127.0.0.1", "unregistered")


def test_phone_login_carries_the_memberships() -> None:
    acd, _, phones = setup()
    phones(registered("8001"))
    phones(registered("8002"))
    assert dict(acd.agent_view("1001").queues) == {"repair": 0}
    assert sorted(dict(acd.agent_view("1002").queues)) == ["billing", "repair"]


def test_a_hot_desked_phone_does_not_log_its_owner_in() -> None:
    acd, directory, phones = setup()
    acd.login(AgentLogin("1001", "8002", skills={"billing": 2}), 1.0)
    directory.sit("1001", "8002")
    phones(registered("8002"))  # 1002's own phone, where 1001 sits
    assert [v.agent_id for v in acd.agents()] == ["1001"]
    phones(removed("8001"))  # 1001's own phone going away does not log it out
    assert [v.agent_id for v in acd.agents()] == ["1001"]
    phones(removed("8002"))  # the seat's phone going away does
    assert acd.agents() == []


def test_sit_and_stand() -> None:
    _, directory, _ = setup()
    directory.sit("1001", "8100")
    assert (directory.extension_of("1001"), directory.agent_at("8100")) == ("8100", "1001")
    assert directory.agent_at("8001") is None
    directory.sit("1001", "8001")  # its own phone again: no hot-desk left
    assert directory.seated == {} and directory.sitters == {}
    directory.sit("1001", "8100")
    directory.stand("1001")
    assert (directory.extension_of("1001"), directory.agent_at("8001")) == ("8001", "1001")
