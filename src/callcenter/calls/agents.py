"""Who the agents are and where their phones ring: the agent directory and phone login.

``AgentDirectory`` maps agent ids (工号) to extensions and back, with each agent's skills,
queue memberships and wrap-up, loaded from storage, and where each agent sits now: an agent
logged in at another seat than its own phone (hot-desking, 热座) gets its calls at that seat's
extension until it logs out (``sit`` / ``stand``). ``PhoneLogin`` logs an agent into the ACD
when its extension registers and out when the registration ends (the demo's newcomer path:
register a softphone as 8001 and agent 1001 is ready); agents may also log in through the API.
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
        # agent id -> the queues it is a member of; absent: no membership list (skills only)
        self.memberships: dict[str, frozenset[str]] = {}
        self.seated: dict[str, str] = {}  # agent id -> extension of the seat it sits at
        self.sitters: dict[str, str] = {}  # the reverse: extension -> agent id

    def reload(self, store: Storage) -> None:
        memberships: dict[str, set[str]] = {}
        for queue in store.queues.all():
            for member in store.queues.members(queue.name):
                memberships.setdefault(str(member.agent_id), set()).add(queue.name)
        self.memberships = {a: frozenset(qs) for a, qs in memberships.items()}
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
        """Where the agent's calls ring: the seat it sits at, else its own extension."""
        seat = self.seated.get(agent_id)
        if seat is not None:
            return seat
        info = self.by_id.get(agent_id)
        return None if info is None else info.extension

    def queues_of(self, agent_id: str) -> frozenset[str] | None:
        """The queues the agent is a member of; None when it has no membership list."""
        return self.memberships.get(agent_id)

    def agent_at(self, extension: str) -> str | None:
        """The agent whose calls ring at ``extension``: one sitting there, else its owner
        (unless the owner sits elsewhere)."""
        sitter = self.sitters.get(extension)
        if sitter is not None:
            return sitter
        info = self.by_extension.get(extension)
        if info is None or info.agent_id in self.seated:
            return None
        return info.agent_id

    def sit(self, agent_id: str, extension: str) -> None:
        """Ring ``agent_id`` at ``extension`` (its own: back to the plain mapping)."""
        self.stand(agent_id)
        info = self.by_id.get(agent_id)
        if info is None or info.extension != extension:
            self.seated[agent_id] = extension
            self.sitters[extension] = agent_id

    def stand(self, agent_id: str) -> None:
        seat = self.seated.pop(agent_id, None)
        if seat is not None and self.sitters.get(seat) == agent_id:
            del self.sitters[seat]


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
        if self.directory.agent_at(aor) != info.agent_id:
            return  # another agent hot-desks at this phone
        category = Category.SUPERVISOR if info.category == "supervisor" else Category.AGENT
        queues = self.directory.queues_of(info.agent_id)
        login = AgentLogin(
            info.agent_id, info.extension, category, info.skills, info.wrapup, queues
        )
        try:
            self.apply(self.acd.login(login, self.now()))
        except AcdError as exc:
            log.warning("agent.login_failed", agent_id=info.agent_id, error=str(exc))
            return
        log.info("agent.logged_in", agent_id=info.agent_id, extension=aor, via="phone")

    def _logout(self, aor: str) -> None:
        """The phone went away: the agent ringing there (owner or hot-desker) logs out."""
        agent_id = self.directory.agent_at(aor)
        if agent_id is None or not logged_in(self.acd, agent_id):
            return
        self.apply(self.acd.logout(agent_id, self.now()))
        log.info("agent.logged_out", agent_id=agent_id, extension=aor, via="phone")


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
