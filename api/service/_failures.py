"""The limit on failed logins, for the bearer API and the DPO's login form alike.

The rule: at most ``limit`` failed logins from one client address, and at most ``limit`` with
one token id (the ``<id>`` of ``medler_<id>_<secret>``, whoever sends it), in any sliding
``window`` seconds. Past either, every login with that address or that token id is answered
429 with ``Retry-After`` (the seconds until the oldest failure in the window leaves it)
*before* the token is checked, so a guess made while limited tells nothing, and the right
token waits too. Only time lifts a limit: a success never clears failures, so an attacker
gains nothing by interleaving a token of their own, and the per-id count holds however many
addresses the guesses come from.

Each attempt takes its place in the count before the token is checked and gives it back when
the token turns out to be valid, so requests in flight together cannot overshoot the limit.
The counts live in the process: several worker processes each keep their own. The client
address is the one the server reports; behind a proxy, let the server take it from the
proxy's headers (uvicorn's ``--proxy-headers --forwarded-allow-ips``), else every client
shares the proxy's address.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from api.service._errors import RateLimited
from release.governance import NotAuthenticated

TOKEN_PREFIX = "medler_"
_ID_LENGTH = 64  # longer ids are cut: no token has one, and memory stays bounded


def token_id(token: str) -> str | None:
    """The id part of ``medler_<id>_<secret>``, or None for text that is not shaped so."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] + "_" != TOKEN_PREFIX or not parts[1]:
        return None
    return parts[1][:_ID_LENGTH]


class LoginFailures:
    """Failed logins per client address and per token id in a sliding window (the rule in the
    module's docstring)."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()
        self._pruned = clock()

    @contextmanager
    def attempt(self, address: str, token: str) -> Iterator[None]:
        """Guard one login: refuse it (``RateLimited``) when its address or token id is at
        the limit; otherwise count it as a failure unless the block raises nothing, or raises
        something other than ``NotAuthenticated``."""
        keys = [("address", address)]
        found = token_id(token)
        if found is not None:
            keys.append(("token", found))
        now = self.clock()
        with self._lock:
            self._prune(now)
            for kind, value in keys:
                failures = self._failures.setdefault((kind, value), deque())
                while failures and failures[0] <= now - self.window:
                    failures.popleft()
                if len(failures) >= self.limit:
                    wait = max(1, math.ceil(failures[0] + self.window - now))
                    where = "from this address" if kind == "address" else "with this token id"
                    raise RateLimited(
                        f"too many failed logins {where} ({self.limit} in "
                        f"{self.window:g} s); try again in {wait} s",
                        wait,
                    )
            for key in keys:
                self._failures[key].append(now)
        try:
            yield
        except NotAuthenticated:
            raise
        except BaseException:
            self._give_back(keys, now)
            raise
        self._give_back(keys, now)

    def _give_back(self, keys: list[tuple[str, str]], at: float) -> None:
        with self._lock:
            for key in keys:
                failures = self._failures.get(key)
                if failures is not None and at in failures:
                    failures.remove(at)

    def _prune(self, now: float) -> None:
        """Forget keys with no failure in the window, at most once a window."""
        if now - self._pruned < self.window:
            return
        self._pruned = now
        for key in [k for k, f in self._failures.items() if not f or f[-1] <= now - self.window]:
            del self._failures[key]
