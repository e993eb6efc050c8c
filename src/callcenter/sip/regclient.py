"""Outbound registration to a carrier or another registrar (RFC 3261 §10.2), sans-IO.

:class:`RegistrationClient` is a pure state machine for one binding (trunk mode). It builds
REGISTER requests without Via and Max-Forwards (the transaction layer adds them with a fresh
branch) and keeps one Call-ID and From tag for every refresh while CSeq grows by one per
request (§10.2.4). It answers 401/407 with digest credentials (once per challenge; again only
when the registrar says ``stale=true``) and then reuses the nonce with a rising nonce count on
refreshes, so a refresh usually costs one round trip. On 200 OK it reads the lifetime the
registrar granted from our Contact's ``expires`` parameter, else the Expires header, else what
it asked, and schedules the refresh at ``max(granted / 2, granted - 60)`` seconds: at most one
minute before expiry for long lifetimes, half-way for short ones, always before the end. 423
is answered once with the Min-Expires the registrar asks for (§10.2.8). Any other failure,
including a transaction timeout and refused credentials, moves to FAILED and retries after an
exponential back-off in the spirit of RFC 5626 §4.5: ``min(300, 10 * 2**(n-1))`` seconds
scaled by a random factor in [0.5, 1] so that many trunks do not retry in step (a 503's
Retry-After wins). ``stop`` sends Expires 0. Time comes in as ``now``; randomness from the
``random.Random`` given (``SystemRandom`` in production).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from enum import Enum

from callcenter.sip.auth import (
    Challenge,
    DigestCredentials,
    build_authorization,
    challenge_header,
    select_challenge,
)
from callcenter.sip.errors import SipSyntaxError
from callcenter.sip.message import Headers, Request, Response
from callcenter.sip.uri import parse_name_addr, parse_uri

BACKOFF_BASE = 10.0
BACKOFF_MAX = 300.0
REFRESH_MARGIN = 60.0
MAX_AUTH_ROUNDS = 3


class RegistrationState(Enum):
    UNREGISTERED = "unregistered"
    REGISTERING = "registering"
    REGISTERED = "registered"
    UNREGISTERING = "unregistering"
    FAILED = "failed"


def refresh_delay(granted: float) -> float:
    """Seconds after a 200 OK at which to refresh a binding granted for ``granted`` s."""
    return max(granted / 2.0, granted - REFRESH_MARGIN)


class RegistrationClient:
    """Keeps one contact registered at a registrar; the caller owns transactions and timers.

    Use: send ``start(now)``; feed each final response of the transaction that carried the
    last request to ``on_response`` (send what it returns), a transaction timeout to
    ``on_timeout``; call ``on_timer(now)`` at ``next_deadline()`` and send what it returns.
    """

    def __init__(
        self,
        registrar_uri: str,
        aor: str,
        username: str,
        contact: str,
        *,
        rng: random.Random,
        password: str | None = None,
        ha1: Mapping[str, str] | None = None,
        expires: int = 3600,
    ) -> None:
        if password is None and not ha1:
            raise ValueError("a password or HA1 values (by algorithm) are needed")
        self.registrar_uri = registrar_uri
        self.aor = aor
        self.contact = contact
        self.expires = expires
        self.state = RegistrationState.UNREGISTERED
        self.failure: str | None = None  # why the last attempt failed, safe to log
        self.registered_until: float | None = None
        self._contact_uri = parse_uri(contact)
        self._creds = DigestCredentials(username, password, dict(ha1 or {}))
        self._rng = rng
        self._call_id = f"{rng.getrandbits(96):024x}"
        self._from_tag = f"{rng.getrandbits(48):012x}"
        self._cseq = 0
        self._pending: Request | None = None
        self._pending_auth = False  # the pending request carried credentials
        self._challenge: Challenge | None = None
        self._challenge_status = 401
        self._nc = 0
        self._fresh = False  # the cached challenge arrived during the current attempt
        self._auth_rounds = 0
        self._failures = 0
        self._deadline: float | None = None
        self._stopping = False

    @property
    def call_id(self) -> str:
        return self._call_id

    # ------------------------------------------------------------------ commands
    def start(self, now: float) -> Request:
        """Begin registering (or re-registering after ``stop``)."""
        self._stopping = False
        self.state = RegistrationState.REGISTERING
        return self._begin()

    def stop(self, now: float) -> Request:
        """Remove our binding (Expires: 0); UNREGISTERED once answered or failed."""
        self._stopping = True
        self.state = RegistrationState.UNREGISTERING
        return self._begin()

    def next_deadline(self) -> float | None:
        """When ``on_timer`` has a refresh or a retry to send; None while a request is out."""
        return None if self._pending is not None else self._deadline

    def on_timer(self, now: float) -> Request | None:
        if self._pending is not None or self._deadline is None or now < self._deadline:
            return None
        if self.state is not RegistrationState.REGISTERED:
            self.state = RegistrationState.REGISTERING
        return self._begin()

    def on_timeout(self, now: float) -> None:
        """The transaction carrying the pending request timed out (Timer F, §17.1.2.2)."""
        if self._pending is not None:
            self._fail("timeout", now)

    def on_response(self, response: Response, now: float) -> Request | None:
        """Consume a final response; returns the next request to send, if any."""
        pending = self._pending
        if pending is None or response.status < 200 or not self._matches(pending, response):
            return None
        status = response.status
        if status in (401, 407):
            return self._on_challenge(response, now)
        if 200 <= status < 300:
            self._on_success(response, now)
            return None
        if status == 423 and not self._stopping:
            return self._on_too_brief(response, now)
        retry_after = _delta(response.headers.get("retry-after")) if status == 503 else None
        self._fail(f"{status} {response.reason}", now, retry_after)
        return None

    # ------------------------------------------------------------------ responses
    def _matches(self, pending: Request, response: Response) -> bool:
        try:
            return response.cseq == pending.cseq and response.call_id == self._call_id
        except SipSyntaxError:
            return False

    def _on_challenge(self, response: Response, now: float) -> Request | None:
        challenge = select_challenge(response, self._creds)
        if challenge is None:
            self._fail("no usable challenge", now)
            return None
        # §22.2: credentials refused for a challenge of this attempt will not work again
        # unless the nonce merely went stale.
        refused = self._pending_auth and self._fresh and not challenge.stale
        if refused or self._auth_rounds >= MAX_AUTH_ROUNDS:
            self._fail("authentication failed", now)
            return None
        self._challenge = challenge
        self._challenge_status = response.status
        self._nc = 0
        self._fresh = True
        self._auth_rounds += 1
        return self._send()

    def _on_success(self, response: Response, now: float) -> None:
        self._pending = None
        self._failures = 0
        self.failure = None
        if self._stopping:
            self._settle_unregistered()
            return
        granted = self._granted(response)
        self.state = RegistrationState.REGISTERED
        self.registered_until = now + granted
        self._deadline = now + refresh_delay(granted)

    def _granted(self, response: Response) -> int:
        for value in response.headers.get_all("contact"):
            try:
                contact = parse_name_addr(value)
            except SipSyntaxError:
                continue
            if contact.uri == self._contact_uri:
                granted = _delta(contact.params.get("expires"))
                if granted is not None:
                    return granted
        header = _delta(response.headers.get("expires"))
        return self.expires if header is None else header

    def _on_too_brief(self, response: Response, now: float) -> Request | None:
        minimum = _delta(response.headers.get("min-expires"))
        if minimum is None or minimum <= self.expires:
            self._fail("423 without a usable Min-Expires", now)
            return None
        self.expires = minimum
        return self._send()

    def _fail(self, reason: str, now: float, retry_after: int | None = None) -> None:
        self._pending = None
        if self._stopping:
            self._settle_unregistered()
            return
        self._failures += 1
        self.state = RegistrationState.FAILED
        self.failure = reason
        self.registered_until = None
        delay = retry_after if retry_after is not None else self._backoff()
        self._deadline = now + delay

    def _backoff(self) -> float:
        exponent = min(self._failures - 1, 16)
        ceiling = min(BACKOFF_MAX, BACKOFF_BASE * (1 << exponent))
        return ceiling * self._rng.uniform(0.5, 1.0)

    def _settle_unregistered(self) -> None:
        self.state = RegistrationState.UNREGISTERED
        self.registered_until = None
        self._deadline = None

    # ------------------------------------------------------------------ requests
    def _begin(self) -> Request:
        """A new attempt: a cached challenge is reused but no longer counts as fresh."""
        self._auth_rounds = 0
        self._fresh = False
        return self._send()

    def _send(self) -> Request:
        expires = 0 if self._stopping else self.expires
        self._cseq += 1
        h = Headers()
        h.set("from", f"<{self.aor}>;tag={self._from_tag}")
        h.set("to", f"<{self.aor}>")
        h.set("call-id", self._call_id)
        h.set("cseq", f"{self._cseq} REGISTER")
        h.set("contact", f"<{self.contact}>;expires={expires}")
        h.set("expires", str(expires))
        self._pending_auth = self._challenge is not None
        if self._challenge is not None:
            self._nc += 1
            _, name = challenge_header(self._challenge_status)
            h.set(name, self._authorization(self._challenge))
        request = Request("REGISTER", self.registrar_uri, h)
        self._pending = request
        self._deadline = None
        return request

    def _authorization(self, challenge: Challenge) -> str:
        ha1 = None if self._creds.password is not None else self._creds.ha1[challenge.algorithm]
        return build_authorization(
            challenge,
            "REGISTER",
            self.registrar_uri,
            self._creds.username,
            self._creds.password,
            ha1,
            cnonce=f"{self._rng.getrandbits(64):016x}",
            nc=self._nc,
        )


def _delta(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip().split(";", 1)[0].split("(", 1)[0].strip()
    if not text.isdigit() or not text.isascii() or len(text) > 10:
        return None
    return int(text)
