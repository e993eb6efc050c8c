"""The demo seed for ``make run``: an electricity-fee hotline ready to take calls.

It reads ``callcenter/data/demo/seed.yaml`` and creates only what is missing (by natural key:
username, agent id, extension number, queue name, account number...), so running it on every
start is safe and never overwrites what an administrator changed. Demo passwords are listed in
``docs/storage.md``; only their argon2 hashes and SIP digest HA1 values reach the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from importlib import resources
from typing import Any

import yaml

from callcenter.storage.repos.queues import QueueSettings
from callcenter.storage.repos.settings import OpenSpan
from callcenter.storage.store import Storage


@dataclass
class SeedReport:
    """What one run created, by kind; all zero when the demo data were already there."""

    created: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str) -> None:
        self.created[kind] = self.created.get(kind, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.created.values())


def load_seed() -> dict[str, Any]:
    text = (resources.files("callcenter") / "data" / "demo" / "seed.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def seed(store: Storage, realm: str, now: datetime) -> SeedReport:
    """Create the missing demo data; ``realm`` is the SIP realm the phones register in."""
    data = load_seed()
    report = SeedReport()
    _skills(store, data["skills"], report)
    _queues(store, data["queues"], now, report)
    new_users = _users(store, data["users"], now, report)
    for agent in data["agents"]:
        _agent(store, agent, realm, now, report)
    for phone in data.get("phones", []):
        _phone(store, phone, realm, now, report)
    _categories(store, data["categories"], report)
    _schedule(store, data["schedule"], report)
    _customers(store, data["customers"], now, report)
    _units(store, data["units"], new_users, report)
    _mailboxes(store, data["mailboxes"], report)
    _prompts(store, data["prompts"], now, report)
    _params(store, data["params"], now, report)
    return report


def _skills(store: Storage, items: list[dict[str, str]], report: SeedReport) -> None:
    for item in items:
        if store.skills.get_by_name(item["name"]) is None:
            store.skills.create(item["name"], item.get("description", ""))
            report.add("skills")


def _queues(store: Storage, items: list[dict[str, Any]], now: datetime, report: SeedReport) -> None:
    for item in items:
        if store.queues.get(item["name"]) is None:
            settings = QueueSettings(**item["settings"])
            store.queues.create(item["name"], item["display_name"], now, settings, item["skills"])
            report.add("queues")


def _users(
    store: Storage, items: list[dict[str, str]], now: datetime, report: SeedReport
) -> set[str]:
    created = set()
    for item in items:
        if store.users.get_by_username(item["username"]) is None:
            store.users.create(
                item["username"], item["display_name"], item["role"], item["password"], now
            )
            created.add(item["username"])
            report.add("users")
    return created


def _agent(
    store: Storage, item: dict[str, Any], realm: str, now: datetime, report: SeedReport
) -> None:
    agent_id = int(item["agent_id"])
    number = str(item["extension"])
    if store.extensions.get_by_number(number) is None:
        ext = store.extensions.create(number, now, display_name=item["name"])
        store.extensions.set_password(ext.id, realm, item["sip_password"], now)
        store.seats.create(f"S{number}", extension=number, location="demo")
        report.add("extensions")
    username = item.get("username", f"a{agent_id}")
    user = store.users.get_by_username(username)
    if user is None:
        role = "supervisor" if item["category"] == "supervisor" else "agent"
        password = item.get("password", f"demo{agent_id}")
        user = store.users.create(username, item["name"], role, password, now)
        report.add("users")
    if store.agents.get(agent_id) is None:
        store.agents.create(
            agent_id,
            item["name"],
            item["category"],
            now,
            skills=item["skills"],
            user_id=user.id,
            extension=number,
        )
        for queue, penalty in item["queues"].items():
            store.queues.add_member(queue, agent_id, penalty)
        report.add("agents")
    box = f"agent:{agent_id}"
    if store.voicemail.mailbox(box) is None:
        store.voicemail.create_mailbox(box, pin=str(agent_id))
        report.add("mailboxes")


def _phone(
    store: Storage, item: dict[str, Any], realm: str, now: datetime, report: SeedReport
) -> None:
    number = str(item["extension"])
    if store.extensions.get_by_number(number) is None:
        ext = store.extensions.create(number, now, display_name=item["name"])
        store.extensions.set_password(ext.id, realm, item["sip_password"], now)
        report.add("extensions")


def _categories(store: Storage, items: list[dict[str, Any]], report: SeedReport) -> None:
    existing = {c.code for c in store.categories.all()}
    for item in items:
        if item["code"] not in existing:
            store.categories.put(item["code"], item["name"], sort_order=item["sort_order"])
            report.add("categories")


def _schedule(store: Storage, item: dict[str, Any], report: SeedReport) -> None:
    if store.schedules.get(item["name"]) is not None:
        return
    opens, closes = time.fromisoformat(item["opens"]), time.fromisoformat(item["closes"])
    spans = [OpenSpan(day, opens, closes) for day in item["weekdays"]]
    store.schedules.put(item["name"], item["timezone"], spans)
    for holiday in item["holidays"]:
        store.schedules.add_holiday(
            item["name"], date.fromisoformat(holiday["day"]), holiday["name"]
        )
    report.add("schedules")


def _customers(
    store: Storage, items: list[dict[str, Any]], now: datetime, report: SeedReport
) -> None:
    for item in items:
        if store.customers.by_account(item["account_no"]) is None:
            store.customers.create(
                item["account_no"],
                item["name"],
                now,
                phones=item["phones"],
                address=item["address"],
                balance_fen=int(item["balance_fen"]),
                id_number=item["id_number"],
            )
            report.add("customers")


def _units(
    store: Storage, items: list[dict[str, Any]], new_users: set[str], report: SeedReport
) -> None:
    """Units, and their members when the unit or the member user is new in this run."""
    for item in items:
        unit = store.units.get_by_code(item["code"])
        fresh = unit is None
        if unit is None:
            unit = store.units.create(item["code"], item["name"])
            report.add("units")
        for username in item.get("members", []):
            user = store.users.get_by_username(username)
            if user is not None and (fresh or username in new_users):
                store.units.add_member(unit.id, user.id)
                report.add("unit_members")


def _mailboxes(store: Storage, items: list[dict[str, str]], report: SeedReport) -> None:
    for item in items:
        if store.voicemail.mailbox(item["name"]) is None:
            store.voicemail.create_mailbox(item["name"])
            report.add("mailboxes")


def _prompts(
    store: Storage, items: list[dict[str, str]], now: datetime, report: SeedReport
) -> None:
    for item in items:
        if store.prompts.get(item["name"], item["language"]) is None:
            store.prompts.put(item["name"], item["language"], now, text=item["text"])
            report.add("prompts")


def _params(store: Storage, items: dict[str, Any], now: datetime, report: SeedReport) -> None:
    for key, value in items.items():
        if store.params.get(key) is None:
            store.params.set(key, value, now)
            report.add("params")
