"""Password guessing protection (SPEC §16): a source that keeps failing digest auth is banned.

``AuthGuard`` counts the failed REGISTER authentications of each source address in a sliding
window; past ``max_failures`` the address gets 403 without a challenge for ``ban`` seconds, so a
scanner cannot keep trying passwords and the log does not fill with its attempts. Pure: the
caller passes ``now``.
"""

from __future__ import annotations

from collections import deque

# Reasons (from sip.auth) that mean wrong or forged credentials, not a normal first challenge.
GUESSING_REASONS = frozenset(
    {"unknown user", "bad response", "bad nonce", "nc replay", "malformed credentials"}
)


class AuthGuard:
    def __init__(self, max_failures: int = 10, window: float = 60.0, ban: float = 300.0) -> None:
        self.max_failures = max_failures
        self.window = window
        self.ban = ban
        self._failures: dict[str, deque[float]] = {}
        self._banned: dict[str, float] = {}

    def blocked(self, host: str, now: float) -> bool:
        until = self._banned.get(host)
        if until is None:
            return False
        if now >= until:
            del self._banned[host]
            return False
        return True

    def failed(self, host: str, reason: str, now: float) -> bool:
        """Count a failure; True when it starts a ban."""
        if reason not in GUESSING_REASONS:
            return False
        times = self._failures.setdefault(host, deque())
        times.append(now)
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) < self.max_failures:
            return False
        del self._failures[host]
        self._banned[host] = now + self.ban
        return True

    def succeeded(self, host: str) -> None:
        self._failures.pop(host, None)
