"""Login throttling: sliding windows of attempts (one process, in memory).

``LoginThrottle`` counts a login three ways: by user name *and* address (the tight limit), by
user name from every address, and by address for every name (both four times as loose). Someone
guessing the owner's password from one address is stopped by the first; guessing it from many
addresses by the second; trying many names from one address by the third. One address hammering
a name cannot use up the name's allowance for everyone, because an attempt refused by any window
is counted by none.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

# Keys kept before the idle ones are dropped (one per address and name seen within a minute).
PRUNE_ABOVE = 10_000
LOOSE_FACTOR = 4
NAME_CHARS = 200  # the part of a typed user name that keys the throttle


class SlidingWindowLimiter:
    def __init__(self, limit: int, window_seconds: float = 60.0, clock=time.monotonic) -> None:
        self.limit = limit
        self.window = window_seconds
        self._clock = clock
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: str) -> float:
        """Record an attempt; return 0 when allowed, else the seconds until the next allowed."""
        with self._lock:
            wait = self._wait(key, self._clock())
            if not wait:
                self._hits[key].append(self._clock())
            return wait

    def wait(self, key: str) -> float:
        """The seconds until ``key`` may try again (0: now), without recording an attempt."""
        with self._lock:
            return self._wait(key, self._clock())

    def _wait(self, key: str, now: float) -> float:
        if len(self._hits) > PRUNE_ABOVE:
            self._prune(now)
        hits = self._hits.get(key)
        if not hits:
            return 0.0
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(0.0, hits[0] + self.window - now)
        return 0.0

    def _prune(self, now: float) -> None:
        idle = now - self.window
        for key in [key for key, hits in self._hits.items() if not hits or hits[-1] <= idle]:
            del self._hits[key]

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)


class LoginThrottle:
    """Logins counted by (name, address), by name and by address; see the module's docstring."""

    def __init__(self, limit: int, window_seconds: float = 60.0, clock=time.monotonic) -> None:
        loose = limit * LOOSE_FACTOR
        self._pair = SlidingWindowLimiter(limit, window_seconds, clock)
        self._name = SlidingWindowLimiter(loose, window_seconds, clock)
        self._address = SlidingWindowLimiter(loose, window_seconds, clock)
        self._lock = threading.Lock()

    @staticmethod
    def _keys(address: str, username: str) -> tuple[str, str, str]:
        name = username.strip().casefold()[:NAME_CHARS]
        return f"{name}\x00{address}", name, address

    def hit(self, address: str, username: str) -> float:
        """Record a login attempt; 0 when allowed, else the seconds until the next allowed."""
        pair, name, addr = self._keys(address, username)
        windows = ((self._pair, pair), (self._name, name), (self._address, addr))
        with self._lock:
            wait = max(limiter.wait(key) for limiter, key in windows)
            if wait:
                return wait
            for limiter, key in windows:
                limiter.hit(key)
            return 0.0

    def succeeded(self, address: str, username: str) -> None:
        """The owner signed in from this address: its own count starts again."""
        pair, _name, addr = self._keys(address, username)
        self._pair.reset(pair)
        self._address.reset(addr)
