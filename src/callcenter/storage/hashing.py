"""Secrets at rest: argon2 password and PIN hashes, digest HA1 values, API token hashes.

- Passwords and PINs: argon2id via argon2-cffi's ``PasswordHasher`` (salted, SPEC §16).
- SIP digest: RFC 7616 §3.4.2 ``A1 = username ":" realm ":" passwd`` and the server needs only
  ``H(A1)`` to verify a response (RFC 7616 §3.4.1), so we keep HA1 for MD5 and SHA-256, never the
  password.
- API tokens: 32 random bytes handed to the client once; only their SHA-256 is stored. A token
  has 256 bits of entropy, so a fast hash is enough (no dictionary to guess from).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

DigestAlgorithm = Literal["MD5", "SHA-256"]


def digest_ha1(username: str, realm: str, password: str, algorithm: DigestAlgorithm) -> str:
    """H(username:realm:password) as lowercase hex (RFC 7616 §3.4.2)."""
    a1 = f"{username}:{realm}:{password}".encode()
    if algorithm == "MD5":
        return hashlib.md5(a1, usedforsecurity=False).hexdigest()
    return hashlib.sha256(a1).hexdigest()


def new_token() -> str:
    """A fresh bearer token (URL-safe, 256 bits)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def fast_hasher() -> PasswordHasher:
    """Cheap argon2 parameters for tests and demos only: still argon2id, still salted."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def verify_secret(hasher: PasswordHasher, stored_hash: str, secret: str) -> bool:
    """True when ``secret`` matches ``stored_hash``; any malformed hash counts as a mismatch."""
    try:
        return hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False
