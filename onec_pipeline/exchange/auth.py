"""1C's login: HTTP Basic checked in constant time, failed attempts rate-limited per client address, and the
session tokens ``checkauth`` hands out (a random token with an expiry, kept in this process)."""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field

COOKIE_NAME = "onec_session"


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(user, password) of an ``Authorization: Basic …`` header; None when absent or malformed. 1C sends
    UTF-8; an old configuration may send windows-1251, which is tried second."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1251", errors="replace")
    user, sep, password = text.partition(":")
    return (user, password) if sep else None


class RateLimiter:
    """At most ``limit`` failed logins per client address within ``window`` seconds; then every login
    from that address is refused (without checking the password) until the oldest failure ages out."""

    def __init__(self, limit: int, window: float, clock=time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        while failures and now - failures[0] > self.window:
            failures.popleft()
        return failures

    def blocked_for(self, client: str) -> float:
        """Seconds until ``client`` may try again (0: it may now)."""
        if self.limit <= 0:
            return 0.0
        with self._lock:
            now = self.clock()
            failures = self._recent(client, now)
            if len(failures) < self.limit:
                return 0.0
            return max(1.0, self.window - (now - failures[0]))

    def failed(self, client: str) -> None:
        with self._lock:
            self._recent(client, self.clock()).append(self.clock())
            if len(self._failures) > 10_000:  # bounded memory whatever the clients do
                for key in [k for k, v in self._failures.items() if not v][:5_000]:
                    del self._failures[key]


@dataclass
class Session:
    """One exchange session: from a successful ``checkauth`` until its token expires."""

    token: str
    id: str  # a short public id for logs and directory names (never the token)
    user: str
    type: str
    expires: float
    state: dict = field(default_factory=dict)  # what the exchange keeps per session (uploads, sale confirm)


class Sessions:
    """Session tokens, in this process (a restart asks 1C to log in again: its next call hears
    ``failure`` and 1C starts a new exchange)."""

    def __init__(self, lifetime: float, clock=time.time) -> None:
        self.lifetime, self.clock = lifetime, clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, user: str, type_: str) -> Session:
        session = Session(
            token=secrets.token_urlsafe(32),
            id=secrets.token_hex(4),
            user=user,
            type=type_,
            expires=self.clock() + self.lifetime,
        )
        with self._lock:
            now = self.clock()
            for token in [t for t, s in self._sessions.items() if s.expires < now]:
                del self._sessions[token]
            self._sessions[session.token] = session
        return session

    def find(self, token: str | None) -> Session | None:
        """The live session of ``token`` (None: unknown or expired)."""
        if not token:
            return None
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if session.expires < self.clock():
                del self._sessions[token]
                return None
            return session
