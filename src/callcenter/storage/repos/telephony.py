"""Extensions with per-realm digest credentials, registrar bindings, and SIP trunks.

``set_password`` turns a password into HA1 values at once (RFC 7616 §3.4.2) and forgets it; the
SIP layer asks ``credentials(username, realm)`` for the HA1 of the algorithm it challenged with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from callcenter.storage.errors import ValidationFailed
from callcenter.storage.hashing import digest_ha1
from callcenter.storage.repos._base import Repo, check_in, check_range, require, to_record
from callcenter.storage.schema import Extension, Registration, SipCredential, Trunk
from callcenter.storage.schema.base import TRANSPORTS


@dataclass(frozen=True, slots=True)
class ExtensionRecord:
    id: int
    number: str
    username: str
    display_name: str
    enabled: bool
    max_contacts: int
    voicemail_enabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DigestCredential:
    """What a digest check needs (RFC 7616 §3.4.1): HA1 per algorithm, never the password."""

    extension_id: int
    username: str
    realm: str
    ha1_md5: str
    ha1_sha256: str
    enabled: bool

    def ha1(self, algorithm: str) -> str | None:
        """HA1 for ``MD5`` or ``SHA-256`` (RFC 7616 names, case-insensitive; -sess too)."""
        name = algorithm.upper().removesuffix("-SESS")
        return {"MD5": self.ha1_md5, "SHA-256": self.ha1_sha256}.get(name)


@dataclass(frozen=True, slots=True)
class TrunkRecord:
    id: int
    name: str
    host: str
    port: int
    transport: str
    auth_username: str | None
    auth_realm: str | None
    ha1_md5: str | None
    ha1_sha256: str | None
    register: bool
    inbound_ips: list[str]
    dids: list[str]
    enabled: bool
    created_at: datetime


class ExtensionRepo(Repo):
    def create(
        self,
        number: str,
        now: datetime,
        *,
        username: str | None = None,
        display_name: str = "",
        max_contacts: int = 3,
        voicemail_enabled: bool = True,
    ) -> ExtensionRecord:
        if not number.isdigit():
            raise ValidationFailed(f"extension number must be digits; got {number!r}")
        row = Extension(
            number=number,
            username=username or number,
            display_name=display_name,
            enabled=True,
            max_contacts=check_range(max_contacts, 1, 20, "max_contacts"),
            voicemail_enabled=voicemail_enabled,
            created_at=now,
        )
        with self._db.transaction() as s:
            s.add(row)
            s.flush()
            return to_record(ExtensionRecord, row)

    def get_by_number(self, number: str) -> ExtensionRecord | None:
        with self._db.transaction() as s:
            row = s.scalar(select(Extension).where(Extension.number == number))
            return None if row is None else to_record(ExtensionRecord, row)

    def get(self, extension_id: int) -> ExtensionRecord | None:
        with self._db.transaction() as s:
            row = s.get(Extension, extension_id)
            return None if row is None else to_record(ExtensionRecord, row)

    def all(self) -> list[ExtensionRecord]:
        with self._db.transaction() as s:
            rows = s.scalars(select(Extension).order_by(Extension.number))
            return [to_record(ExtensionRecord, r) for r in rows]

    def set_enabled(self, extension_id: int, enabled: bool) -> None:
        with self._db.transaction() as s:
            require(s, Extension, extension_id, "extension").enabled = enabled

    def delete(self, extension_id: int) -> None:
        with self._db.transaction() as s:
            s.delete(require(s, Extension, extension_id, "extension"))

    def set_password(self, extension_id: int, realm: str, password: str, now: datetime) -> None:
        """Store the HA1 values of ``password`` for ``realm`` (replacing older ones)."""
        if len(password) < 6:
            raise ValidationFailed("SIP password must have at least 6 characters")
        with self._db.transaction() as s:
            ext = require(s, Extension, extension_id, "extension")
            cred = s.scalar(
                select(SipCredential).where(
                    SipCredential.extension_id == extension_id, SipCredential.realm == realm
                )
            )
            if cred is None:
                cred = SipCredential(extension_id=extension_id, realm=realm)
                s.add(cred)
            cred.ha1_md5 = digest_ha1(ext.username, realm, password, "MD5")
            cred.ha1_sha256 = digest_ha1(ext.username, realm, password, "SHA-256")
            cred.updated_at = now

    def all_credentials(self, realm: str | None = None) -> list[DigestCredential]:
        """Every extension's HA1 values (to fill the registrar's in-memory cache at start)."""
        stmt = select(Extension, SipCredential).join(
            SipCredential, SipCredential.extension_id == Extension.id
        )
        if realm is not None:
            stmt = stmt.where(SipCredential.realm == realm)
        with self._db.transaction() as s:
            pairs = s.execute(stmt.order_by(Extension.username, SipCredential.realm))
            return [
                DigestCredential(e.id, e.username, c.realm, c.ha1_md5, c.ha1_sha256, e.enabled)
                for e, c in pairs
            ]

    def credentials(self, username: str, realm: str) -> DigestCredential | None:
        """The HA1 values for a REGISTER/INVITE challenge of ``username`` in ``realm``."""
        stmt = (
            select(Extension, SipCredential)
            .join(SipCredential, SipCredential.extension_id == Extension.id)
            .where(Extension.username == username, SipCredential.realm == realm)
        )
        with self._db.transaction() as s:
            found = s.execute(stmt).first()
            if found is None:
                return None
            ext, cred = found
            return DigestCredential(
                ext.id, ext.username, cred.realm, cred.ha1_md5, cred.ha1_sha256, ext.enabled
            )


class TrunkRepo(Repo):
    def create(
        self,
        name: str,
        host: str,
        now: datetime,
        *,
        port: int = 5060,
        transport: str = "udp",
        register: bool = False,
        inbound_ips: list[str] | None = None,
        dids: list[str] | None = None,
    ) -> TrunkRecord:
        row = Trunk(
            name=name,
            host=host,
            port=check_range(port, 1, 65535, "port"),
            transport=check_in(transport, TRANSPORTS, "transport"),
            register=register,
            inbound_ips=list(inbound_ips or []),
            dids=list(dids or []),
            enabled=True,
            created_at=now,
        )
        with self._db.transaction() as s:
            s.add(row)
            s.flush()
            return to_record(TrunkRecord, row)

    def set_auth(self, trunk_id: int, username: str, realm: str, password: str) -> None:
        """Keep the carrier's HA1s only: enough to answer its challenges (RFC 7616 §3.4.1)."""
        with self._db.transaction() as s:
            row = require(s, Trunk, trunk_id, "trunk")
            row.auth_username = username
            row.auth_realm = realm
            row.ha1_md5 = digest_ha1(username, realm, password, "MD5")
            row.ha1_sha256 = digest_ha1(username, realm, password, "SHA-256")

    def update(
        self,
        trunk_id: int,
        *,
        host: str | None = None,
        port: int | None = None,
        register: bool | None = None,
        inbound_ips: list[str] | None = None,
        enabled: bool | None = None,
    ) -> TrunkRecord:
        with self._db.transaction() as s:
            row = require(s, Trunk, trunk_id, "trunk")
            if host is not None:
                row.host = host
            if port is not None:
                row.port = check_range(port, 1, 65535, "port")
            if register is not None:
                row.register = register
            if inbound_ips is not None:
                row.inbound_ips = list(inbound_ips)
            if enabled is not None:
                row.enabled = enabled
            return to_record(TrunkRecord, row)

    def get_by_name(self, name: str) -> TrunkRecord | None:
        with self._db.transaction() as s:
            row = s.scalar(select(Trunk).where(Trunk.name == name))
            return None if row is None else to_record(TrunkRecord, row)

    def all(self) -> list[TrunkRecord]:
        with self._db.transaction() as s:
            return [
                to_record(TrunkRecord, r) for r in s.scalars(select(Trunk).order_by(Trunk.name))
            ]

    def delete(self, trunk_id: int) -> None:
        with self._db.transaction() as s:
            s.delete(require(s, Trunk, trunk_id, "trunk"))


@dataclass(frozen=True, slots=True)
class RegistrationRecord:
    username: str
    aor: str
    contact: str
    transport: str
    source_host: str
    source_port: int
    expires_at: datetime
    q: float | None
    call_id: str
    cseq: int
    updated_at: datetime


class RegistrationRepo(Repo):
    """Registrar bindings persisted so that phones stay reachable across a restart.

    The registrar owns the live location service in memory; it writes through here on every
    change and reads ``live(now)`` once at start-up (converting ``expires_at`` to its clock).
    """

    def save(self, binding: RegistrationRecord) -> None:
        """Insert or replace the binding of (username, contact)."""
        check_in(binding.transport, (*TRANSPORTS, "ws", "wss"), "transport")
        with self._db.transaction() as s:
            row = s.scalar(
                select(Registration).where(
                    Registration.username == binding.username,
                    Registration.contact == binding.contact,
                )
            )
            if row is None:
                row = Registration()
                s.add(row)
            for name in RegistrationRecord.__dataclass_fields__:
                setattr(row, name, getattr(binding, name))

    def remove(self, username: str, contact: str | None = None) -> int:
        """Remove one binding, or all of a user's (``Contact: *``); how many were removed."""
        stmt = delete(Registration).where(Registration.username == username)
        if contact is not None:
            stmt = stmt.where(Registration.contact == contact)
        with self._db.transaction() as s:
            return int(getattr(s.execute(stmt), "rowcount", 0))

    def live(self, now: datetime) -> list[RegistrationRecord]:
        """Bindings that have not expired at ``now``, by user then contact."""
        stmt = (
            select(Registration)
            .where(Registration.expires_at > now)
            .order_by(Registration.username, Registration.contact)
        )
        with self._db.transaction() as s:
            return [to_record(RegistrationRecord, r) for r in s.scalars(stmt)]

    def purge_expired(self, now: datetime) -> int:
        with self._db.transaction() as s:
            result = s.execute(delete(Registration).where(Registration.expires_at <= now))
            return int(getattr(result, "rowcount", 0))
