"""Who the agents are and where their phones ring: the agent directory and phone login.

``AgentDirectory`` maps agent ids (工号) to extensions and back, with each agent's skills,
queues and wrap-up, loaded from storage. ``PhoneLogin`` logs an agent into the ACD when its
extension registers and out when the registration ends (the demo's newcomer path: register a
softphone as 8001 and agent 1001 is ready); agents may also log in through the API.
Customer lookups for the IVR against our own customer tables live here too
(``OwnCustomersLookup``), so the demo answers "您的电费余额为…" from the same records the agent
desktop shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from callcenter.acd import Acd
from callcenter.acd.errors import AcdError, NotLoggedInError
from callcenter.acd.events import Output
from callcenter.acd.model import AgentLogin, Category
from callcenter.logs import get_logger
from callcenter.sip.endpoint import Address
from callcenter.sip.errors import SipSyntaxError
from callcenter.sip.registrar import Binding, ContactRegistered, ContactRemoved
from callcenter.sip.uri import SipUri, parse_uri
from callcenter.storage.aio import AsyncStorage
from callcenter.storage.store import Storage

log = get_logger("callcenter.agents")


@dataclass(frozen=True, slots=True)
class AgentInfo:
    agent_id: str
    name: str
    extension: str
    category: str
    skills: dict[str, int]
    wrapup: float | None


class AgentDirectory:
    def __init__(self) -> None:
        self.by_id: dict[str, AgentInfo] = {}
        self.by_extension: dict[str, AgentInfo] = {}

    def reload(self, store: Storage) -> None:
        by_id: dict[str, AgentInfo] = {}
        for rec in store.agents.all():
            if not rec.enabled or rec.extension is None:
                continue
            wrapup = float(rec.wrapup_seconds) if rec.wrapup_seconds is not None else None
            info = AgentInfo(
                str(rec.agent_id), rec.name, rec.extension, rec.category, dict(rec.skills), wrapup
            )
            by_id[info.agent_id] = info
        self.by_id = by_id
        self.by_extension = {a.extension: a for a in by_id.values()}

    def extension_of(self, agent_id: str) -> str | None:
        info = self.by_id.get(agent_id)
        return None if info is None else info.extension


def contact_address(binding: Binding) -> Address:
    """Where to send an INVITE for a registered contact, without resolving any name.

    The REGISTER's source address is used (it works through NAT and reuses a TCP connection),
    except over UDP when the Contact names the very IP the REGISTER came from with another
    port: then the phone listens there (e.g. a REGISTER sent from an ephemeral port).
    """
    src = binding.source
    source = src if isinstance(src, Address) else Address(*src)
    if source.transport != "udp":
        return source
    try:
        uri = parse_uri(binding.contact)
    except SipSyntaxError:
        return source
    if isinstance(uri, SipUri) and uri.host == source.host and uri.port not in (None, source.port):
        return Address("udp", source.host, uri.port)
    return source


def _user_of(aor: str) -> str:
    """``sip:8001@callcenter.local`` -> ``8001`` (the registrar keys bindings by user)."""
    try:
        uri = parse_uri(aor)
    except SipSyntaxError:
        return aor
    return (uri.user_unescaped or "") if isinstance(uri, SipUri) else aor


def logged_in(acd: Acd, agent_id: str) -> bool:
    try:
        acd.agent_view(agent_id)
    except NotLoggedInError:
        return False
    return True


class PhoneLogin:
    """Registrar events -> ACD login/logout for agents whose extension registered."""

    def __init__(
        self, acd: Acd, directory: AgentDirectory, now: Callable[[], float],
        apply: Callable[[list[Output]], None],
    ) -> None:  # fmt: skip
        self.acd = acd
        self.directory = directory
        self.now = now
        self.apply = apply

    def __call__(self, event: object) -> None:
        if isinstance(event, ContactRegistered):
            self._login(_user_of(event.aor))
        elif isinstance(event, ContactRemoved):
            self._logout(_user_of(event.aor))

    def _login(self, aor: str) -> None:
        info = self.directory.by_extension.get(aor)
        if info is None or logged_in(self.acd, info.agent_id):
            return
        category = Category.SUPERVISOR if info.category == "supervisor" else Category.AGENT
        login = AgentLogin(info.agent_id, info.extension, category, info.skills, info.wrapup)
        try:
            self.apply(self.acd.login(login, self.now()))
        except AcdError as exc:
            log.warning("agent.login_failed", agent_id=info.agent_id, error=str(exc))
            return
        log.info("agent.logged_in", agent_id=info.agent_id, extension=aor, via="phone")

    def _logout(self, aor: str) -> None:
        info = self.directory.by_extension.get(aor)
        if info is None or not logged_in(self.acd, info.agent_id):
            return
        self.apply(self.acd.logout(info.agent_id, self.now()))
        log.info("agent.logged_out", agent_id=info.agent_id, extension=aor, via="phone")


class OwnCustomersLookup:
    """IVR business lookups (kind ``account`` or ``phone``) against our customer table."""

    def __init__(self, store: AsyncStorage) -> None:
        self.store = store

    async def lookup(self, kind: str, key: str) -> dict[str, object] | None:
        customers = self.store.sync.customers
        if kind == "account":
            rec = await self.store.run(customers.by_account, key)
        elif kind == "phone":
            found = await self.store.run(customers.by_phone, key)
            rec = found[0] if found else None
        else:
            return None
        if rec is None:
            return None
        return {
            "customer_id": rec.id,
            "account_no": rec.account_no,
            "name": rec.name,
            "balance_fen": rec.balance_fen,
        }
