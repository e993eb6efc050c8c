"""SIP digest credentials for the registrar, kept in memory and loaded from storage.

The registrar is pure and asks synchronously for an HA1; the database is not asked on the
event loop for each REGISTER. ``CredentialCache`` holds the HA1 values (never passwords) and is
refreshed whenever the administration changes an extension.
"""

from __future__ import annotations

from callcenter.config import Config


class CredentialCache:
    def __init__(self) -> None:
        self._ha1: dict[tuple[str, str, str], str] = {}

    def ha1(self, username: str, realm: str, algorithm: str) -> str | None:
        return self._ha1.get((username, realm, algorithm.upper()))

    def put(self, username: str, realm: str, algorithm: str, ha1: str) -> None:
        self._ha1[(username, realm, algorithm.upper())] = ha1

    def remove(self, username: str) -> None:
        for key in [k for k in self._ha1 if k[0] == username]:
            del self._ha1[key]

    def __len__(self) -> int:
        return len(self._ha1)


def load_credentials(config: Config) -> CredentialCache:
    """An empty cache; the runtime fills it from storage once the database is open."""
    del config
    return CredentialCache()
