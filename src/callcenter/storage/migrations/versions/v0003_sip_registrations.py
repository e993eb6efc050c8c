"""SIP registrations kept across restarts (RFC 3261 §10.3 bindings of the registrar).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 18:05:43
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sip_registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("aor", sa.String(length=255), nullable=False),
        sa.Column("contact", sa.String(length=512), nullable=False),
        sa.Column("transport", sa.String(length=8), nullable=False),
        sa.Column("source_host", sa.String(length=64), nullable=False),
        sa.Column("source_port", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("q", sa.Double(), nullable=True),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("cseq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "transport IN ('udp', 'tcp', 'tls', 'ws', 'wss')",
            name=op.f("ck_sip_registrations_transport"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sip_registrations")),
        sa.UniqueConstraint(
            "username", "contact", name=op.f("uq_sip_registrations_username_contact")
        ),
    )
    op.create_index("ix_sip_registrations_expires_at", "sip_registrations", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_sip_registrations_expires_at", table_name="sip_registrations")
    op.drop_table("sip_registrations")
