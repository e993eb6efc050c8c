"""SIP digest authentication (RFC 3261 §22, RFC 7616, RFC 2617 legacy form), both sides.

Server side: :class:`DigestChallenger` issues stateless nonces (issue time and a sequence
number, sealed with HMAC-SHA256 under a server secret, RFC 7616 §5.4) so nothing is kept per
challenge; ``challenge_headers`` offers SHA-256 then MD5 (§3.7), both ``qop="auth"``, and
``verify`` checks an Authorization / Proxy-Authorization header against stored HA1 values
(``CredentialLookup``: passwords are never stored, only H(username:realm:password) per
algorithm). A nonce whose seal is valid but whose age passed the TTL, answered with a correct
digest, yields ``stale=True`` so the client retries without asking the user (§3.3). Nonce
counts are remembered in a bounded LRU so a replayed (nonce, nc) is refused. The RFC 2069 form
without ``qop`` is accepted for MD5 only, for old phones. Reasons in :class:`AuthResult` are
fixed phrases for logs and never carry a secret.

Client side: :func:`build_authorization` answers one challenge; :func:`authorize_request`
re-builds a request with credentials and CSeq+1; :func:`digest_auth_flow` is the httpx-style
generator (yield request, receive response, retry on 401/407 once per challenge, again only
when the server says ``stale=true``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
from collections import OrderedDict
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from callcenter.sip.errors import SipError, SipSyntaxError
from callcenter.sip.message import Request, Response
from callcenter.sip.uri import parse_uri

MD5 = "MD5"
SHA256 = "SHA-256"
ALGORITHMS = (SHA256, MD5)  # RFC 7616 §3.7: the preferred algorithm first
_NC_MEMORY = 8192

REASON_MISSING = "missing credentials"
REASON_MALFORMED = "malformed credentials"
REASON_SCHEME = "unsupported scheme/algorithm"
REASON_REALM = "realm mismatch"
REASON_URI = "uri mismatch"
REASON_NONCE = "bad nonce"
REASON_USER = "unknown user"
REASON_RESPONSE = "bad response"
REASON_EXPIRED = "nonce expired"
REASON_REPLAY = "nc replay"


class DigestError(SipError):
    """A challenge cannot be answered (unsupported algorithm or qop, malformed parameters)."""


class CredentialLookup(Protocol):
    """Where the server finds HA1 = H(username:realm:password) for one algorithm."""

    def ha1(self, username: str, realm: str, algorithm: str) -> str | None: ...


def _hash(algorithm: str, text: str) -> str:
    name = "sha256" if algorithm == SHA256 else "md5"
    return hashlib.new(name, text.encode("utf-8"), usedforsecurity=False).hexdigest()


def normalize_algorithm(value: str | None) -> str | None:
    """``md5`` -> ``MD5``, ``sha-256`` -> ``SHA-256``, absent -> MD5 (§3.3), other -> None."""
    if value is None:
        return MD5
    upper = value.strip().upper()
    return upper if upper in ALGORITHMS else None


def compute_ha1(username: str, realm: str, password: str, algorithm: str) -> str:
    """HA1 = H(username:realm:password) (RFC 7616 §3.4.2), what a server stores per user."""
    algo = normalize_algorithm(algorithm)
    if algo is None:
        raise DigestError(f"unsupported algorithm {algorithm!r}")
    return _hash(algo, f"{username}:{realm}:{password}")


def digest_response(
    algorithm: str,
    ha1: str,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None = None,
    nc: str = "",
    cnonce: str = "",
) -> str:
    """The ``response`` value (RFC 7616 §3.4.1); without qop the RFC 2069 form."""
    ha2 = _hash(algorithm, f"{method}:{uri}")
    if qop is None:
        return _hash(algorithm, f"{ha1}:{nonce}:{ha2}")
    return _hash(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


# auth-param = token LWS "=" LWS ( token / quoted-string ), separated by commas (§25.1).
_AUTH_PARAM = re.compile(
    r'[ \t,]*([A-Za-z0-9_.!%*+`\'~-]+)[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"|[^\s,"]*)[ \t]*(?:,|\Z)'
)
_UNESCAPE = re.compile(r"\\(.)")


def parse_auth_params(value: str) -> tuple[str, dict[str, str]]:
    """``Digest realm="x", nonce="y"`` -> ("digest", {...}); quotes and escapes removed.

    A regular-expression scanner: linear time, several times faster than a per-character
    loop for the long credentials phones send on every REGISTER and INVITE.
    """
    text = value.strip()
    scheme, _, rest = text.partition(" ")
    params: dict[str, str] = {}
    pos, end = 0, len(rest)
    while pos < end:
        match = _AUTH_PARAM.match(rest, pos)
        if match is None:
            if rest[pos:].strip(" \t,"):
                raise SipSyntaxError("bad auth parameter")
            break
        raw = match.group(2)
        if raw.startswith('"'):
            raw = _UNESCAPE.sub(r"\1", raw[1:-1])
        params[match.group(1).lower()] = raw
        pos = match.end()
    return scheme.lower(), params


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --------------------------------------------------------------------------- server side


@dataclass(frozen=True, slots=True)
class AuthResult:
    """What ``verify`` concluded. ``reason`` is a fixed phrase, safe to log."""

    ok: bool
    username: str | None = None
    stale: bool = False
    reason: str = ""
    algorithm: str | None = None


class DigestChallenger:
    """Issues stateless nonces and verifies digest credentials for one realm."""

    def __init__(
        self,
        realm: str,
        secret: bytes,
        nonce_ttl: float = 300.0,
        *,
        algorithms: tuple[str, ...] = ALGORITHMS,
        nc_memory: int = _NC_MEMORY,
    ) -> None:
        if not secret:
            raise ValueError("the nonce secret must not be empty")
        algos = tuple(normalize_algorithm(a) for a in algorithms)
        if not algos or any(a is None for a in algos):
            raise ValueError(f"algorithms must be among {ALGORITHMS}")
        self.realm = realm
        self.nonce_ttl = nonce_ttl
        self.algorithms: tuple[str, ...] = tuple(a for a in algos if a is not None)
        self._secret = secret
        self._seq = 0
        self._nc_memory = nc_memory
        self._highest_nc: OrderedDict[str, int] = OrderedDict()

    # -- nonces
    def _seal(self, head: bytes) -> bytes:
        mac = hmac.new(self._secret, head + self.realm.encode("utf-8"), hashlib.sha256)
        return mac.digest()[:16]

    def make_nonce(self, now: float) -> str:
        self._seq += 1  # 8 bytes of time (ms), 8 of sequence, then 16 bytes of HMAC
        head = struct.pack(">qQ", int(now * 1000), self._seq)
        return base64.urlsafe_b64encode(head + self._seal(head)).decode("ascii").rstrip("=")

    def nonce_issued_at(self, nonce: str) -> float | None:
        """The issue time sealed in ``nonce``, or None when it is not one of ours."""
        if len(nonce) != 43 or not nonce.isascii():
            return None
        try:  # 43 characters of base64 always hold the 32 bytes we sealed
            raw = base64.b64decode(nonce + "=", altchars=b"-_", validate=True)
        except ValueError:
            return None
        head, mac = raw[:16], raw[16:]
        if not hmac.compare_digest(mac, self._seal(head)):
            return None
        millis: int = struct.unpack(">q", head[:8])[0]
        return millis / 1000.0

    def challenge_headers(self, now: float, stale: bool = False) -> list[str]:
        """WWW-Authenticate (or Proxy-Authenticate) values, one per algorithm, one nonce."""
        nonce = self.make_nonce(now)
        tail = ", stale=true" if stale else ""
        return [
            f"Digest realm={_quote(self.realm)}, nonce={_quote(nonce)}, "
            f'algorithm={algo}, qop="auth"{tail}'
            for algo in self.algorithms
        ]

    # -- verification
    def verify(
        self,
        request: Request,
        lookup: CredentialLookup,
        now: float,
        header: str = "authorization",
    ) -> AuthResult:
        """Check the credentials in ``header`` for this realm (RFC 3261 §22.4, RFC 7616 §3.4)."""
        values = request.headers.get_all(header)
        if not values:
            return AuthResult(False, reason=REASON_MISSING)
        parsed = self._pick_credentials(values)
        if isinstance(parsed, AuthResult):
            return parsed
        return self._verify_params(request, parsed, lookup, now)

    def _pick_credentials(self, values: list[str]) -> dict[str, str] | AuthResult:
        """The Digest credentials for our realm among several headers (one per realm)."""
        failure = AuthResult(False, reason=REASON_MALFORMED)
        for value in values:
            if value.strip().partition(" ")[0].lower() != "digest":
                failure = AuthResult(False, reason=REASON_SCHEME)
                continue
            try:
                params = parse_auth_params(value)[1]
            except SipSyntaxError:
                continue
            if params.get("realm") == self.realm:
                return params
            if "realm" in params:
                failure = AuthResult(False, params.get("username"), reason=REASON_REALM)
        return failure

    def _verify_params(
        self, request: Request, params: dict[str, str], lookup: CredentialLookup, now: float
    ) -> AuthResult:
        username = params.get("username")
        algorithm = normalize_algorithm(params.get("algorithm"))
        problem = _screen(params, algorithm, self.algorithms, request.uri)
        if problem is not None or algorithm is None:
            return AuthResult(False, username, reason=problem or REASON_SCHEME)
        username, nonce, uri = params["username"], params["nonce"], params["uri"]
        issued = self.nonce_issued_at(nonce)
        if issued is None:
            return AuthResult(False, username, reason=REASON_NONCE)
        ha1 = lookup.ha1(username, self.realm, algorithm)
        if ha1 is None:
            return AuthResult(False, username, reason=REASON_USER)
        qop = params.get("qop")
        nc, cnonce = params.get("nc", ""), params.get("cnonce", "")
        expected = digest_response(algorithm, ha1, nonce, request.method, uri, qop, nc, cnonce)
        if not hmac.compare_digest(expected, params["response"].lower()):
            return AuthResult(False, username, reason=REASON_RESPONSE, algorithm=algorithm)
        age = now - issued
        if age > self.nonce_ttl or age < -1.0:  # negative: sealed before a clock reset
            return AuthResult(False, username, True, REASON_EXPIRED, algorithm)
        if qop is not None and not self._count_nonce(nonce, int(nc, 16)):
            return AuthResult(False, username, reason=REASON_REPLAY, algorithm=algorithm)
        return AuthResult(True, username, algorithm=algorithm)

    def _count_nonce(self, nonce: str, nc: int) -> bool:
        """Accept ``nc`` only when higher than any seen with ``nonce`` (RFC 7616 §3.4)."""
        highest = self._highest_nc.get(nonce, 0)
        if nc <= highest:
            return False
        self._highest_nc[nonce] = nc
        self._highest_nc.move_to_end(nonce)
        while len(self._highest_nc) > self._nc_memory:
            self._highest_nc.popitem(last=False)
        return True


def _screen(
    params: Mapping[str, str], algorithm: str | None, allowed: tuple[str, ...], request_uri: str
) -> str | None:
    """The failure reason of credentials that are unusable before any lookup, or None."""
    if any(name not in params for name in ("username", "nonce", "uri", "response")):
        return REASON_MALFORMED
    if algorithm is None or algorithm not in allowed:
        return REASON_SCHEME
    if params.get("userhash", "false").lower() == "true":
        return REASON_SCHEME
    problem = _check_qop(params, algorithm)
    if problem is not None:
        return problem
    if not _same_uri(params["uri"], request_uri):
        return REASON_URI
    return None


def _check_qop(params: Mapping[str, str], algorithm: str) -> str | None:
    qop = params.get("qop")
    if qop is None:
        # RFC 2069 form: MD5 only; RFC 7616 §3.4 requires qop for anything newer.
        return None if algorithm == MD5 else REASON_SCHEME
    if qop.lower() != "auth":
        return REASON_SCHEME
    nc, cnonce = params.get("nc", ""), params.get("cnonce", "")
    if len(nc) != 8 or not all(c in "0123456789abcdefABCDEF" for c in nc) or not cnonce:
        return REASON_MALFORMED
    return None


def _same_uri(digest_uri: str, request_uri: str) -> bool:
    """RFC 3261 §22.4: the digest ``uri`` names the Request-URI (text, else parsed equality)."""
    if digest_uri == request_uri:
        return True
    try:
        return parse_uri(digest_uri) == parse_uri(request_uri)
    except SipSyntaxError:
        return False


# --------------------------------------------------------------------------- client side


@dataclass(frozen=True, slots=True)
class Challenge:
    """One parsed WWW-Authenticate / Proxy-Authenticate Digest challenge."""

    realm: str
    nonce: str
    algorithm: str
    qop: str | None  # "auth" when offered, None for the RFC 2069 form
    opaque: str | None = None
    stale: bool = False


def parse_challenge(value: str) -> Challenge:
    """Parse a Digest challenge we can answer; raise DigestError otherwise."""
    try:
        scheme, params = parse_auth_params(value)
    except SipSyntaxError as exc:
        raise DigestError("malformed challenge") from exc
    if scheme != "digest":
        raise DigestError(f"unsupported scheme {scheme!r}")
    realm, nonce = params.get("realm"), params.get("nonce")
    if realm is None or nonce is None:
        raise DigestError("challenge without realm or nonce")
    algorithm = normalize_algorithm(params.get("algorithm"))
    if algorithm is None:
        raise DigestError(f"unsupported algorithm {params.get('algorithm')!r}")
    qop: str | None = None
    if "qop" in params:
        offered = [q.strip().lower() for q in params["qop"].split(",")]
        if "auth" not in offered:
            raise DigestError("challenge offers no qop=auth")
        qop = "auth"
    stale = params.get("stale", "").lower() == "true"
    return Challenge(realm, nonce, algorithm, qop, params.get("opaque"), stale)


def build_authorization(
    challenge_value: str | Challenge,
    method: str,
    uri: str,
    username: str,
    password: str | None = None,
    ha1: str | None = None,
    *,
    cnonce: str,
    nc: int = 1,
) -> str:
    """The Authorization value answering one challenge (RFC 7616 §3.4). ``ha1`` must match
    the challenge's realm and algorithm; with ``password`` it is computed here."""
    ch = (
        challenge_value
        if isinstance(challenge_value, Challenge)
        else parse_challenge(challenge_value)
    )
    if ha1 is None:
        if password is None:
            raise DigestError("a password or an HA1 is needed")
        ha1 = compute_ha1(username, ch.realm, password, ch.algorithm)
    nc_text = f"{nc:08x}"
    response = digest_response(ch.algorithm, ha1, ch.nonce, method, uri, ch.qop, nc_text, cnonce)
    parts = [
        f"Digest username={_quote(username)}",
        f"realm={_quote(ch.realm)}",
        f"nonce={_quote(ch.nonce)}",
        f"uri={_quote(uri)}",
        f"response={_quote(response)}",
        f"algorithm={ch.algorithm}",
    ]
    if ch.qop is not None:
        parts += [f"cnonce={_quote(cnonce)}", f"qop={ch.qop}", f"nc={nc_text}"]
    if ch.opaque is not None:
        parts.append(f"opaque={_quote(ch.opaque)}")
    return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class DigestCredentials:
    """A client's secret: a password, or HA1 values by algorithm for a known realm."""

    username: str
    password: str | None = field(default=None, repr=False)
    ha1: Mapping[str, str] = field(default_factory=dict, repr=False)

    def can_answer(self, challenge: Challenge) -> bool:
        return self.password is not None or challenge.algorithm in self.ha1


def challenge_header(status: int) -> tuple[str, str]:
    """(challenge header, credentials header) for a 401 or a 407 (RFC 3261 §22.2, §22.3)."""
    if status == 407:
        return "proxy-authenticate", "proxy-authorization"
    return "www-authenticate", "authorization"


def select_challenge(response: Response, creds: DigestCredentials) -> Challenge | None:
    """The first challenge of a 401/407 that ``creds`` can answer (RFC 7616 §3.7)."""
    name, _ = challenge_header(response.status)
    for value in response.headers.get_all(name):
        try:
            challenge = parse_challenge(value)
        except DigestError:
            continue
        if creds.can_answer(challenge):
            return challenge
    return None


def authorize_request(
    request: Request,
    status: int,
    challenge: Challenge,
    creds: DigestCredentials,
    cnonce: str,
    nc: int = 1,
) -> Request:
    """A copy of ``request`` with credentials for ``challenge``, CSeq+1 and no Via (the
    transaction layer adds a Via with a new branch: this is a new transaction, §22.2)."""
    _, cred_name = challenge_header(status)
    ha1 = creds.ha1.get(challenge.algorithm) if creds.password is None else None
    value = build_authorization(
        challenge,
        request.method,
        request.uri,
        creds.username,
        creds.password,
        ha1,
        cnonce=cnonce,
        nc=nc,
    )
    headers = request.headers.copy()
    headers.remove("via")
    kept = [v for v in headers.get_all(cred_name) if not _credentials_for(v, challenge.realm)]
    headers.set(cred_name, [*kept, value])
    cseq = request.cseq
    headers.set("cseq", f"{cseq.number + 1} {cseq.method}")
    return Request(request.method, request.uri, headers, request.body)


def _credentials_for(value: str, realm: str) -> bool:
    try:
        return parse_auth_params(value)[1].get("realm") == realm
    except SipSyntaxError:
        return True  # drop what we cannot read rather than send it again


def digest_auth_flow(
    request: Request,
    username: str,
    password: str,
    cnonce_source: Callable[[], str],
    *,
    max_rounds: int = 4,
) -> Generator[Request, Response, None]:
    """Send ``request``; on 401/407 answer the challenge once, again only if ``stale=true``.

    The caller drives it: ``req = next(flow)``, then ``req = flow.send(final_response)``
    until StopIteration (the last response is the outcome).
    """
    creds = DigestCredentials(username, password)
    response = yield request
    nonces: set[str] = set()
    realms: set[str] = set()
    for _ in range(max_rounds):
        if response.status not in (401, 407):
            return
        challenge = select_challenge(response, creds)
        if challenge is None or challenge.nonce in nonces:
            return
        if challenge.realm in realms and not challenge.stale:
            return  # our credentials were refused: asking again would not help (§22.2)
        nonces.add(challenge.nonce)
        realms.add(challenge.realm)
        request = authorize_request(request, response.status, challenge, creds, cnonce_source())
        response = yield request
