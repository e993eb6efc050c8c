"""Phones and carriers: extensions with their digest credentials, registrations, SIP trunks.

RFC 7616 §3.4.2 defines ``A1 = username ":" realm ":" passwd`` and the server only ever needs
``H(A1)`` (HA1) to check a response or to answer a challenge, so each credential row keeps HA1 for
MD5 and SHA-256 per realm and never the password itself. Changing the realm therefore needs a new
password; that is the price of not storing a recoverable secret.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.storage.schema.base import TRANSPORTS, Base
from callcenter.storage.types import UtcDateTime, one_of


class Extension(Base):
    __tablename__ = "extensions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    max_contacts: Mapped[int] = mapped_column(Integer, default=3)
    voicemail_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SipCredential(Base):
    """Digest HA1 values of one extension in one realm (RFC 7616 §3.4.2)."""

    __tablename__ = "sip_credentials"
    __table_args__ = (UniqueConstraint("extension_id", "realm"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    extension_id: Mapped[int] = mapped_column(ForeignKey("extensions.id", ondelete="CASCADE"))
    realm: Mapped[str] = mapped_column(String(128))
    ha1_md5: Mapped[str] = mapped_column(String(32))
    ha1_sha256: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Registration(Base):
    """A REGISTER binding (RFC 3261 §10.3), kept so that phones stay reachable after a restart.

    ``expires_at`` is wall-clock UTC; the registrar converts it to its own clock on restore.
    Bindings over a connection (TCP/TLS/WS) are stored too, but their connection is gone after a
    restart: the registrar decides whether to restore them.
    """

    __tablename__ = "sip_registrations"
    __table_args__ = (
        UniqueConstraint("username", "contact"),
        one_of("transport", (*TRANSPORTS, "ws", "wss"), "transport"),
        Index("ix_sip_registrations_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    aor: Mapped[str] = mapped_column(String(255))
    contact: Mapped[str] = mapped_column(String(512))
    transport: Mapped[str] = mapped_column(String(8))
    source_host: Mapped[str] = mapped_column(String(64))
    source_port: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    q: Mapped[float | None] = mapped_column()
    call_id: Mapped[str] = mapped_column(String(255))
    cseq: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Trunk(Base):
    __tablename__ = "trunks"
    __table_args__ = (one_of("transport", TRANSPORTS, "transport"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=5060)
    transport: Mapped[str] = mapped_column(String(8), default="udp")
    auth_username: Mapped[str | None] = mapped_column(String(64))
    auth_realm: Mapped[str | None] = mapped_column(String(128))
    ha1_md5: Mapped[str | None] = mapped_column(String(32))
    ha1_sha256: Mapped[str | None] = mapped_column(String(64))
    register: Mapped[bool] = mapped_column(Boolean, default=False)
    inbound_ips: Mapped[list[str]] = mapped_column(JSON)
    dids: Mapped[list[str]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
