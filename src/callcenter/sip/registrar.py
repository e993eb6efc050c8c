"""The registrar (RFC 3261 §10.3): authenticated REGISTER, bindings with expiry, events out.

``Registrar.handle(request, source, now)`` follows §10.3 step by step: the To URI must be
sip/sips (else 400, RFC 4475 unksm2); digest authentication comes next (401 with challenges,
``stale=true`` for an expired nonce; 403 when the authenticated user is not the To user); then
the Contact list is read (``*`` only alone and with ``Expires: 0``, else 400; unparsable
Contact 400), each contact's lifetime is its ``expires`` parameter, else the Expires header,
else the default; 0 removes, a lifetime below the minimum is refused with 423 and Min-Expires,
one above the maximum is shortened. An update that carries the Call-ID of an existing binding
with a CSeq that is not higher is out of order and fails with 500 (§10.3 step 7). Updates are
all-or-nothing: the request is planned first and committed only if every contact passed. The
200 OK lists every current binding with its remaining lifetime. Each binding keeps the
transport address the REGISTER came from, so calls to it go back the same way through NATs
(RFC 5626-like). Bindings are keyed by the To user: one registrar serves one domain/realm.
Nothing here reads a clock: ``now`` comes in, ``expire(now)`` and ``next_deadline()`` drive
expiry.
"""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass

from callcenter.sip.auth import REASON_EXPIRED, REASON_MISSING, CredentialLookup, DigestChallenger
from callcenter.sip.errors import SipSyntaxError
from callcenter.sip.message import Request, Response
from callcenter.sip.responses import build_response
from callcenter.sip.uri import NameAddr, SipUri, parse_uri

Source = tuple[str, str, int] | tuple[str, str, int, int]
_MAX_DELTA = 2**32 - 1  # RFC 3261 §20.19: expires values above 2**32-1 are treated as such


@dataclass(frozen=True, slots=True)
class Binding:
    """One registered contact of an address-of-record."""

    aor: str
    contact: str
    source: Source
    expires_at: float
    q: float | None
    call_id: str
    cseq: int
    updated_at: float

    def remaining(self, now: float) -> int:
        return max(0, int(self.expires_at - now + 0.5))


@dataclass(frozen=True, slots=True)
class ContactRegistered:
    aor: str
    contact: str
    source: Source
    expires: int


@dataclass(frozen=True, slots=True)
class ContactRefreshed:
    aor: str
    contact: str
    source: Source
    expires: int


@dataclass(frozen=True, slots=True)
class ContactRemoved:
    aor: str
    contact: str
    reason: str  # "unregistered" or "expired"


@dataclass(frozen=True, slots=True)
class RegistrationRejected:
    """A REGISTER refused for a reason worth logging; never carries a secret."""

    username: str | None
    source: Source
    reason: str


RegistrarEvent = ContactRegistered | ContactRefreshed | ContactRemoved | RegistrationRejected


class _RefusedError(Exception):
    """A REGISTER answered with an error status (internal control flow).

    ``log`` is the reason reported in RegistrationRejected; None for the routine 401 that
    asks for (fresh) credentials.
    """

    def __init__(
        self,
        status: int,
        reason: str | None = None,
        headers: list[tuple[str, str]] | None = None,
        *,
        log: str | None = "",
        username: str | None = None,
    ) -> None:
        super().__init__(status)
        self.status = status
        self.reason = reason
        self.headers = headers or []
        self.log = (reason or str(status)).lower() if log == "" else log
        self.username = username


@dataclass(frozen=True, slots=True)
class _Change:
    key: str
    contact: str
    expires: int  # 0 removes
    q: float | None


class Registrar:
    """In-memory location service fed by REGISTER requests for one realm."""

    def __init__(
        self,
        realm: str,
        challenger: DigestChallenger,
        lookup: CredentialLookup,
        min_expires: int = 60,
        max_expires: int = 3600,
        default_expires: int = 3600,
        *,
        max_contacts: int = 16,
    ) -> None:
        if not 0 < min_expires <= default_expires <= max_expires:
            raise ValueError("need 0 < min_expires <= default_expires <= max_expires")
        if realm != challenger.realm:
            raise ValueError("the challenger must issue challenges for the registrar's realm")
        self.realm = realm
        self.challenger = challenger
        self.credentials = lookup
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.default_expires = default_expires
        self.max_contacts = max_contacts
        self._bindings: dict[str, dict[str, Binding]] = {}
        self._deadlines: list[tuple[float, str, str]] = []

    # ------------------------------------------------------------------ requests
    def handle(
        self, request: Request, source: Source, now: float
    ) -> tuple[Response, list[RegistrarEvent]]:
        """Answer one REGISTER (§10.3); the events say what changed or what was refused."""
        username: str | None = None
        try:
            user, aor = self._address_of_record(request)
            username = self._authenticate(request, user, now)
            changes = self._plan(request, user)
        except _RefusedError as refused:
            resp = self._response(request, refused.status, refused.reason, refused.headers)
            if refused.log is None:
                return resp, []
            return resp, [RegistrationRejected(refused.username or username, source, refused.log)]
        events = self._commit(user, aor, changes, request, source, now)
        contacts = [self._contact_value(b, now) for b in self.lookup(user, now)]
        return self._response(request, 200, None, [("contact", c) for c in contacts]), events

    def _response(
        self, request: Request, status: int, reason: str | None, headers: list[tuple[str, str]]
    ) -> Response:
        # A stable To tag per REGISTER: retransmissions get the same answer (§8.2.6.2).
        seed = f"{request.call_id}|{request.headers.get('cseq')}".encode()
        tag = hashlib.sha256(seed).hexdigest()[:12]
        return build_response(request, status, reason, to_tag=tag, headers=headers)

    @staticmethod
    def _contact_value(binding: Binding, now: float) -> str:
        q = "" if binding.q is None else f";q={binding.q:g}"
        return f"<{binding.contact}>;expires={binding.remaining(now)}{q}"

    def _address_of_record(self, request: Request) -> tuple[str, str]:
        try:
            to = request.to
        except SipSyntaxError:
            raise _RefusedError(400, "Bad To Header") from None
        uri = to.uri
        if not isinstance(uri, SipUri):
            raise _RefusedError(400, "Bad To URI Scheme")  # RFC 4475 §3.3.10 unksm2
        user = uri.user_unescaped
        if not user:
            raise _RefusedError(404, "Unknown Address Of Record")
        return user, f"{uri.scheme}:{uri.user}@{uri.host}"

    def _authenticate(self, request: Request, user: str, now: float) -> str:
        """§10.3 steps 3-4: the authenticated username, which must be the To user."""
        result = self.challenger.verify(request, self.credentials, now)
        if result.ok:
            if result.username != user:
                raise _RefusedError(403, "Username Does Not Match AOR", username=result.username)
            return user
        routine = result.reason in (REASON_MISSING, REASON_EXPIRED)
        challenges = self.challenger.challenge_headers(now, stale=result.stale)
        raise _RefusedError(
            401,
            None,
            [("www-authenticate", c) for c in challenges],
            log=None if routine else result.reason,
            username=result.username,
        )

    # ------------------------------------------------------------------ planning
    def _plan(self, request: Request, user: str) -> list[_Change]:
        """Read and check every contact; nothing is changed until all passed (§10.3)."""
        try:
            contacts = request.contacts()
        except SipSyntaxError:
            raise _RefusedError(400, "Bad Contact") from None
        header_expires = _delta(request.headers.get("expires"), "Expires")
        if any(c.wildcard for c in contacts):
            if len(contacts) != 1 or header_expires != 0:
                raise _RefusedError(400, "Wildcard Contact Needs Expires 0")
            current = self._bindings.get(user, {})
            changes = [_Change(key, b.contact, 0, b.q) for key, b in current.items()]
        else:
            default = self.default_expires if header_expires is None else header_expires
            changes = [self._change(c, default) for c in contacts]
        self._check_order(request, user, changes, wildcard=any(c.wildcard for c in contacts))
        self._check_capacity(user, changes)
        return changes

    def _change(self, contact: NameAddr, default: int) -> _Change:
        expires = _delta(contact.params.get("expires"), "Contact Expires")
        expires = default if expires is None else expires
        if 0 < expires < self.min_expires:
            raise _RefusedError(423, None, [("min-expires", str(self.min_expires))])
        uri = str(contact.uri)
        try:
            key = str(parse_uri(uri))
        except SipSyntaxError:  # pragma: no cover - the Contact parsed once already
            raise _RefusedError(400, "Bad Contact") from None
        return _Change(key, uri, min(expires, self.max_expires), _q_value(contact))

    def _check_order(
        self, request: Request, user: str, changes: list[_Change], *, wildcard: bool
    ) -> None:
        """§10.3 step 7: a known Call-ID must come with a higher CSeq than stored."""
        current = self._bindings.get(user, {})
        number = request.cseq.number
        for change in changes:
            old = current.get(change.key)
            if old is None or old.call_id != request.call_id or number > old.cseq:
                continue
            if wildcard:
                continue  # "*" leaves bindings of the same Call-ID and newer CSeq alone
            raise _RefusedError(500, "Out Of Order Register")

    def _check_capacity(self, user: str, changes: list[_Change]) -> None:
        keys = set(self._bindings.get(user, {}))
        for change in changes:
            if change.expires:
                keys.add(change.key)
            else:
                keys.discard(change.key)
        if len(keys) > self.max_contacts:
            raise _RefusedError(403, "Too Many Contacts")

    # ------------------------------------------------------------------ commit
    def _commit(
        self,
        user: str,
        aor: str,
        changes: list[_Change],
        request: Request,
        source: Source,
        now: float,
    ) -> list[RegistrarEvent]:
        current = self._bindings.setdefault(user, {})
        events: list[RegistrarEvent] = []
        number = request.cseq.number
        for change in changes:
            old = current.get(change.key)
            if old is not None and old.call_id == request.call_id and number <= old.cseq:
                continue  # wildcard removal spares a binding refreshed by a later request
            if change.expires == 0:
                if current.pop(change.key, None) is not None:
                    events.append(ContactRemoved(aor, change.contact, "unregistered"))
                continue
            binding = Binding(
                aor,
                change.contact,
                source,
                now + change.expires,
                change.q,
                request.call_id,
                number,
                now,
            )
            current[change.key] = binding
            heapq.heappush(self._deadlines, (binding.expires_at, user, change.key))
            kind = ContactRegistered if old is None else ContactRefreshed
            events.append(kind(aor, change.contact, source, change.expires))
        if not current:
            del self._bindings[user]
        return events

    # ------------------------------------------------------------------ queries and timers
    def lookup(self, user: str, now: float) -> list[Binding]:
        """Live bindings of ``user``: highest q first (no q counts as 1.0), then most recent."""
        live = [b for b in self._bindings.get(user, {}).values() if b.expires_at > now]
        return sorted(live, key=lambda b: (-(1.0 if b.q is None else b.q), -b.updated_at))

    def expire(self, now: float) -> list[RegistrarEvent]:
        """Remove every binding whose lifetime ended at or before ``now``."""
        events: list[RegistrarEvent] = []
        while self._deadlines and self._deadlines[0][0] <= now:
            at, user, key = heapq.heappop(self._deadlines)
            binding = self._bindings.get(user, {}).get(key)
            if binding is None or binding.expires_at != at:
                continue  # refreshed or removed since this deadline was pushed
            del self._bindings[user][key]
            if not self._bindings[user]:
                del self._bindings[user]
            events.append(ContactRemoved(binding.aor, binding.contact, "expired"))
        return events

    def next_deadline(self) -> float | None:
        """When ``expire`` next has work to do, or None when no binding exists."""
        while self._deadlines:
            at, user, key = self._deadlines[0]
            binding = self._bindings.get(user, {}).get(key)
            if binding is not None and binding.expires_at == at:
                return at
            heapq.heappop(self._deadlines)
        return None

    def bindings(self) -> dict[str, list[Binding]]:
        """A snapshot of every user's bindings (for admin views and tests)."""
        return {user: list(b.values()) for user, b in self._bindings.items()}

    def restore(self, user: str, binding: Binding) -> None:
        """Put back a binding loaded from storage after a restart; ``expires_at`` must be on
        this process's clock (convert a stored wall-clock expiry before calling)."""
        key = str(parse_uri(binding.contact))
        self._bindings.setdefault(user, {})[key] = binding
        heapq.heappush(self._deadlines, (binding.expires_at, user, key))


def _delta(value: str | None, what: str) -> int | None:
    """delta-seconds (§25.1); malformed values are refused with 400."""
    if value is None:
        return None
    text = value.strip()
    if not text.isdigit() or not text.isascii():
        raise _RefusedError(400, f"Bad {what}")
    digits = text.lstrip("0") or "0"
    return _MAX_DELTA if len(digits) > 10 else min(int(digits), _MAX_DELTA)


def _q_value(contact: NameAddr) -> float | None:
    """RFC 3261 §20.10 ``qvalue``: 0 to 1 with at most three decimals."""
    text = contact.params.get("q")
    if text is None:
        return None
    try:
        q = float(text)
    except ValueError:
        raise _RefusedError(400, "Bad q Value") from None
    if not 0.0 <= q <= 1.0:  # also refuses nan and inf
        raise _RefusedError(400, "Bad q Value")
    return q
