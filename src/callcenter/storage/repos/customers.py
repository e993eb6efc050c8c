"""Customers of the electricity-fee demo (account, name, phones, address, balance in fen, ID
number) and the notes agents write about them; lookups by phone (screen pop), account, name or ID;
the calls of a customer (CDRs linked to it by the IVR lookup or placed from one of its phones).

Balances are integers in fen (分): 123.40 yuan is 12340. A float never touches money.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from callcenter.storage.errors import NotFound, ValidationFailed
from callcenter.storage.repos._base import Repo, require, to_record
from callcenter.storage.schema import Cdr, Customer, CustomerNote, CustomerPhone


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    id: int
    account_no: str
    name: str
    phones: tuple[str, ...]
    address: str
    balance_fen: int
    id_number: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NoteRecord:
    id: int
    customer_id: int
    author: str
    text: str
    call_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CustomerCall:
    """One call of a customer (a CDR summary) for the desktop's history tab."""

    call_id: str
    direction: str
    caller: str
    called: str
    start_time: datetime
    answer_time: datetime | None
    end_time: datetime | None
    queue: str | None
    agent_id: int | None
    talk_seconds: float
    outcome: str | None
    business_category: str | None
    recording_id: int | None


def _like(fragment: str) -> str:
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _check_phones(phones: Sequence[str]) -> list[str]:
    cleaned = []
    for phone in phones:
        p = phone.strip()
        if not p or len(p) > 32 or not p.lstrip("+").isdigit():
            raise ValidationFailed(f"phone number must be digits; got {phone!r}")
        if p not in cleaned:
            cleaned.append(p)
    return cleaned


def _check_balance(balance_fen: int) -> int:
    if isinstance(balance_fen, bool) or not isinstance(balance_fen, int):
        raise ValidationFailed("balance must be an integer number of fen")
    return balance_fen


def _record(s: Session, row: Customer) -> CustomerRecord:
    phones = s.scalars(
        select(CustomerPhone.phone)
        .where(CustomerPhone.customer_id == row.id)
        .order_by(CustomerPhone.id)
    )
    return CustomerRecord(
        row.id,
        row.account_no,
        row.name,
        tuple(phones),
        row.address,
        row.balance_fen,
        row.id_number,
        row.created_at,
        row.updated_at,
    )


class CustomerRepo(Repo):
    def create(
        self,
        account_no: str,
        name: str,
        now: datetime,
        *,
        phones: Sequence[str] = (),
        address: str = "",
        balance_fen: int = 0,
        id_number: str | None = None,
    ) -> CustomerRecord:
        phone_list = _check_phones(phones)
        row = Customer(
            account_no=account_no,
            name=name,
            address=address,
            balance_fen=_check_balance(balance_fen),
            id_number=id_number,
            created_at=now,
            updated_at=now,
        )
        with self._db.transaction() as s:
            s.add(row)
            s.flush()
            for phone in phone_list:
                s.add(CustomerPhone(customer_id=row.id, phone=phone))
            s.flush()
            return _record(s, row)

    def update(
        self,
        customer_id: int,
        now: datetime,
        *,
        name: str | None = None,
        phones: Sequence[str] | None = None,
        address: str | None = None,
        id_number: str | None = None,
        account_no: str | None = None,
        clear_id_number: bool = False,
    ) -> CustomerRecord:
        """Change the given fields (``phones`` replaces the whole list; ``clear_id_number``
        removes the ID number)."""
        phone_list = None if phones is None else _check_phones(phones)
        with self._db.transaction() as s:
            row = require(s, Customer, customer_id, "customer")
            if account_no is not None:
                row.account_no = account_no
            if clear_id_number:
                row.id_number = None
            if name is not None:
                row.name = name
            if address is not None:
                row.address = address
            if id_number is not None:
                row.id_number = id_number
            if phone_list is not None:
                s.execute(delete(CustomerPhone).where(CustomerPhone.customer_id == customer_id))
                for phone in phone_list:
                    s.add(CustomerPhone(customer_id=customer_id, phone=phone))
            row.updated_at = now
            s.flush()
            return _record(s, row)

    def adjust_balance(self, customer_id: int, delta_fen: int, now: datetime) -> int:
        """Add ``delta_fen`` (negative to charge) and return the new balance."""
        _check_balance(delta_fen)
        with self._db.transaction() as s:
            row = require(s, Customer, customer_id, "customer")
            row.balance_fen += delta_fen
            row.updated_at = now
            return row.balance_fen

    def delete(self, customer_id: int) -> None:
        with self._db.transaction() as s:
            s.delete(require(s, Customer, customer_id, "customer"))

    def get(self, customer_id: int) -> CustomerRecord | None:
        with self._db.transaction() as s:
            row = s.get(Customer, customer_id)
            return None if row is None else _record(s, row)

    def by_account(self, account_no: str) -> CustomerRecord | None:
        with self._db.transaction() as s:
            row = s.scalar(select(Customer).where(Customer.account_no == account_no))
            return None if row is None else _record(s, row)

    def by_phone(self, phone: str) -> list[CustomerRecord]:
        """Every customer with this number (the screen pop when a call arrives)."""
        stmt = (
            select(Customer)
            .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
            .where(CustomerPhone.phone == phone.strip())
            .order_by(Customer.id)
        )
        with self._db.transaction() as s:
            return [_record(s, r) for r in list(s.scalars(stmt))]

    def by_id_number(self, id_number: str) -> list[CustomerRecord]:
        stmt = select(Customer).where(Customer.id_number == id_number).order_by(Customer.id)
        with self._db.transaction() as s:
            return [_record(s, r) for r in list(s.scalars(stmt))]

    def search_name(self, fragment: str, limit: int = 50) -> list[CustomerRecord]:
        """Customers whose name contains ``fragment`` (LIKE wildcards are escaped)."""
        escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = (
            select(Customer)
            .where(Customer.name.like(f"%{escaped}%", escape="\\"))
            .order_by(Customer.name, Customer.id)
            .limit(limit)
        )
        with self._db.transaction() as s:
            return [_record(s, r) for r in list(s.scalars(stmt))]

    def add_note(
        self, customer_id: int, author: str, text: str, now: datetime, call_id: str | None = None
    ) -> NoteRecord:
        if not text.strip():
            raise ValidationFailed("a note needs text")
        with self._db.transaction() as s:
            require(s, Customer, customer_id, "customer")
            row = CustomerNote(
                customer_id=customer_id, author=author, text=text, call_id=call_id, created_at=now
            )
            s.add(row)
            s.flush()
            return to_record(NoteRecord, row)

    def notes(self, customer_id: int) -> list[NoteRecord]:
        stmt = (
            select(CustomerNote)
            .where(CustomerNote.customer_id == customer_id)
            .order_by(CustomerNote.created_at, CustomerNote.id)
        )
        with self._db.transaction() as s:
            if s.get(Customer, customer_id) is None:
                raise NotFound(f"customer {customer_id} not found")
            return [to_record(NoteRecord, r) for r in s.scalars(stmt)]

    def find(
        self,
        *,
        q: str | None = None,
        phone: str | None = None,
        account_no: str | None = None,
        id_number: str | None = None,
        name: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[CustomerRecord], int]:
        """Customers matching every given key, ordered by id; ``q`` matches any key (a part of
        the name or address, a phone, account or ID number prefix). Returns (page, total)."""
        stmt = select(Customer)
        if phone is not None:
            sub = select(CustomerPhone.customer_id).where(CustomerPhone.phone == phone.strip())
            stmt = stmt.where(Customer.id.in_(sub))
        if account_no is not None:
            stmt = stmt.where(Customer.account_no == account_no.strip())
        if id_number is not None:
            stmt = stmt.where(Customer.id_number == id_number.strip().upper())
        if name is not None:
            stmt = stmt.where(Customer.name.like(_like(name.strip()), escape="\\"))
        if q is not None and q.strip():
            text = q.strip()
            prefix = _like(text)[1:]  # "abc%": a prefix
            phones = select(CustomerPhone.customer_id).where(
                CustomerPhone.phone.like(prefix, escape="\\")
            )
            stmt = stmt.where(
                or_(
                    Customer.name.like(_like(text), escape="\\"),
                    Customer.address.like(_like(text), escape="\\"),
                    Customer.account_no.like(prefix, escape="\\"),
                    Customer.id_number.like(prefix, escape="\\"),
                    Customer.id.in_(phones),
                )
            )
        with self._db.transaction() as s:
            total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
            rows = list(s.scalars(stmt.order_by(Customer.id).limit(limit).offset(offset)))
            return [_record(s, r) for r in rows], int(total)

    def calls(self, customer_id: int, limit: int = 100) -> list[CustomerCall]:
        """The customer's calls, newest first: CDRs linked to it or from one of its phones."""
        with self._db.transaction() as s:
            require(s, Customer, customer_id, "customer")
            phones = select(CustomerPhone.phone).where(CustomerPhone.customer_id == customer_id)
            stmt = (
                select(Cdr)
                .where(or_(Cdr.customer_id == customer_id, Cdr.caller.in_(phones)))
                .order_by(Cdr.start_time.desc(), Cdr.id.desc())
                .limit(limit)
            )
            return [to_record(CustomerCall, r) for r in s.scalars(stmt)]

    def owns_call(self, customer_id: int, call_id: str) -> bool:
        """Whether the call is one of the customer's (as listed by ``calls``)."""
        with self._db.transaction() as s:
            phones = select(CustomerPhone.phone).where(CustomerPhone.customer_id == customer_id)
            stmt = select(Cdr.id).where(
                Cdr.call_id == call_id,
                or_(Cdr.customer_id == customer_id, Cdr.caller.in_(phones)),
            )
            return s.scalar(stmt) is not None
