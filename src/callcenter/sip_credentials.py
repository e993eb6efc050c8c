"""SIP digest credentials for the registrar, kept in memory and loaded from storage.

The registrar is pure and asks synchronously for an HA1; the database is not asked on the
event loop for each REGISTER. ``CredentialCache`` holds the HA1 values (never passwords) and is
refreshed whenever the administration changes an extension (``reload``).
"""

from __future__ import annotations

from callcenter.storage.store import Storage


class CredentialCache:
    def __init__(self) -> None:
        self._ha1: dict[tuple[str, str, str], str] = {}

    def ha1(self, username: str, realm: str, algorithm: str) -> str | None:
        return self._ha1.get((username, realm, algorithm.upper()))

    def put(self, username: str, realm: str, algorithm: str, ha1: str) -> None:
        self._ha1[(username, realm, algorithm.upper())] = ha1

    def reload(self, store: Storage, realm: str) -> None:
        """Replace the cache with the enabled extensions' HA1 values for ``realm``."""
        fresh: dict[tuple[str, str, str], str] = {}
        for cred in store.extensions.all_credentials(realm):
            if not cred.enabled:
                continue
            fresh[(cred.username, cred.realm, "MD5")] = cred.ha1_md5
            fresh[(cred.username, cred.realm, "SHA-256")] = cred.ha1_sha256
        self._ha1 = fresh

    def __len__(self) -> int:
        return len(self._ha1)
