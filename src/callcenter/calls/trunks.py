"""Carrier trunks: registering outward, recognising inbound carrier calls, dialing out.

A trunk is a carrier's SIP server. Inbound calls from it are recognised by source IP (its
``inbound_ips``); a trunk with ``register`` set keeps a registration with the carrier alive
(``sip.regclient``: digest auth, refresh before expiry, back-off on failure). Outbound calls go
to the trunk's address with the trunk's digest credentials, answered on challenge by the user
agent (§22.2). Trunk hosts come from the configuration, never from a message; a host name is
resolved once when the trunk is loaded. ``reload`` applies stored changes live: a trunk removed,
disabled or changed is dropped (its registration removed with Expires 0) and a new or changed
one is loaded (its registration started).
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from callcenter.logs import get_logger
from callcenter.sip.auth import DigestCredentials
from callcenter.sip.endpoint import Address
from callcenter.sip.message import Request, Response
from callcenter.sip.regclient import RegistrationClient
from callcenter.sip.ua import Call, UserAgent
from callcenter.storage.repos.telephony import TrunkRecord

log = get_logger("callcenter.trunks")


@dataclass
class Trunk:
    name: str
    address: Address
    host: str
    credentials: DigestCredentials | None
    inbound_ips: frozenset[str]
    dids: tuple[str, ...]
    registration: RegistrationClient | None = None
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)


async def _resolve(host: str, port: int) -> str:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        return str(infos[0][4][0])
    return host


class TrunkService:
    def __init__(
        self, ua: UserAgent, kick: Callable[[], None], now: Callable[[], float], rng: random.Random
    ) -> None:
        self.ua = ua
        self.kick = kick
        self.now = now
        self.rng = rng
        self.trunks: dict[str, Trunk] = {}
        self.records: dict[str, TrunkRecord] = {}  # what each loaded trunk was built from

    async def reload(self, records: list[TrunkRecord]) -> None:
        """Make the live trunks what ``records`` say, without touching unchanged ones."""
        wanted = {rec.name: rec for rec in records if rec.enabled}
        for name in list(self.trunks):
            if self.records.get(name) != wanted.get(name):
                self._drop(name)
        await self.load([rec for name, rec in wanted.items() if name not in self.trunks])

    def _drop(self, name: str) -> None:
        trunk = self.trunks.pop(name)
        self.records.pop(name, None)
        self._stop(trunk)
        log.info("trunk.removed", trunk=name)
        self.kick()

    async def load(self, records: list[TrunkRecord]) -> None:
        for rec in records:
            if not rec.enabled:
                continue
            try:
                ip = await _resolve(rec.host, rec.port)
            except OSError as exc:
                log.warning("trunk.unresolved", trunk=rec.name, host=rec.host, error=str(exc))
                continue
            creds = None
            if rec.auth_username and (rec.ha1_md5 or rec.ha1_sha256):
                ha1 = {k: v for k, v in (("MD5", rec.ha1_md5), ("SHA-256", rec.ha1_sha256)) if v}
                creds = DigestCredentials(rec.auth_username, ha1=ha1)
            address = Address(rec.transport.lower(), ip, rec.port)
            trunk = Trunk(rec.name, address, rec.host, creds, frozenset(rec.inbound_ips),
                          tuple(rec.dids))  # fmt: skip
            self.trunks[rec.name] = trunk
            self.records[rec.name] = rec
            log.info("trunk.loaded", trunk=rec.name, host=rec.host, register=rec.register)
            if rec.register and creds is not None:
                self._start_registration(trunk)
        self.kick()

    # --------------------------------------------------------------- inbound
    def trunk_for_source(self, host: str) -> Trunk | None:
        """The trunk a call from ``host`` comes from: one of its inbound IPs, or the carrier
        address itself (a registered trunk receives its calls from the registrar's host)."""
        return next(
            (t for t in self.trunks.values() if host in t.inbound_ips or host == t.address.host),
            None,
        )

    # -------------------------------------------------------------- outbound
    def dial(
        self, number: str, caller: str, sdp: bytes, trunk_name: str | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> Call | None:  # fmt: skip
        trunk = (
            self.trunks.get(trunk_name) if trunk_name else next(iter(self.trunks.values()), None)
        )
        if trunk is None:
            return None
        local, _ = self.ua.endpoint.local_for(trunk.address)
        user = trunk.credentials.username if trunk.credentials else caller
        call = self.ua.invite(
            trunk.address, f"sip:{number}@{trunk.host}", f'"{caller}" <sip:{user}@{trunk.host}>',
            f"<sip:{number}@{trunk.host}>", sdp, self.now(), headers or [],
            credentials=trunk.credentials,
        )  # fmt: skip
        self.kick()
        log.info("trunk.dial", trunk=trunk.name, number=number, call_id=call.invite.call_id,
                 local=local)  # fmt: skip
        return call

    # ---------------------------------------------------------- registration
    def _start_registration(self, trunk: Trunk) -> None:
        assert trunk.credentials is not None
        local, port = self.ua.endpoint.local_for(trunk.address)
        user = trunk.credentials.username
        client = RegistrationClient(
            f"sip:{trunk.host}:{trunk.address.port}", f"sip:{user}@{trunk.host}", user,
            f"sip:{user}@{local}:{port}", rng=self.rng, ha1=dict(trunk.credentials.ha1),
        )  # fmt: skip
        trunk.registration = client
        self._send(trunk, client.start(self.now()))

    def _send(self, trunk: Trunk, request: Request | None) -> None:
        if request is not None:
            self.ua.send(request, trunk.address, self.now(), lambda r: self._answer(trunk, r))
            self.kick()
        self._arm(trunk)

    def _answer(self, trunk: Trunk, response: Response | None) -> None:
        client = trunk.registration
        if client is None:
            return
        if response is None:
            client.on_timeout(self.now())
            self._arm(trunk)
        else:
            self._send(trunk, client.on_response(response, self.now()))
        log.info("trunk.registration", trunk=trunk.name, state=client.state.value,
                 failure=client.failure or "")  # fmt: skip

    def _arm(self, trunk: Trunk) -> None:
        client = trunk.registration
        if trunk.timer is not None:
            trunk.timer.cancel()
            trunk.timer = None
        deadline = client.next_deadline() if client is not None else None
        if deadline is not None:
            loop = asyncio.get_running_loop()
            trunk.timer = loop.call_at(deadline, lambda: self._tick(trunk))

    def _tick(self, trunk: Trunk) -> None:
        trunk.timer = None
        if trunk.registration is not None:
            self._send(trunk, trunk.registration.on_timer(self.now()))

    def _stop(self, trunk: Trunk) -> None:
        """Unregister (best effort) and stop the trunk's timer."""
        if trunk.timer is not None:
            trunk.timer.cancel()
            trunk.timer = None
        client, trunk.registration = trunk.registration, None
        if client is not None and client.state.value == "registered":
            self.ua.send(client.stop(self.now()), trunk.address, self.now(), lambda r: None)
            log.info("trunk.unregistering", trunk=trunk.name)

    def close(self) -> None:
        """Unregister (best effort) and stop the timers."""
        for trunk in self.trunks.values():
            self._stop(trunk)
        self.kick()
