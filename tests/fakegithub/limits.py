"""GitHub's rate limits, on a virtual clock so tests never wait.

What GitHub documents ("Rate limits for the REST API",
https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api):

- primary: a number of requests an hour (1,000 for GITHUB_TOKEN per
  repository, 5,000 for a PAT, 5,000+ for an App installation); past it, 403
  or 429 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset` (epoch
  seconds) saying when the window restarts;
- secondary: no more than 100 concurrent requests, no more than 80
  content-generating requests a minute and 500 an hour; past them, 403 or 429
  with "You have exceeded a secondary rate limit" and, maybe, `retry-after`.

Both are off until a test turns them on (`FakeGitHub.enforce_*`).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from .routes import Response, error

EPOCH_SECONDS = 1_596_240_000  # 2020-08-01T00:00:00Z, the fake's usual "now"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
SECONDARY_DOCS = (
    "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
    "#about-secondary-rate-limits"
)
PRIMARY_DOCS = (
    "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
    "#about-primary-rate-limits"
)
WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})  # content-generating requests


class VirtualClock:
    """Epoch seconds that move only when a test says so (`advance`)."""

    def __init__(self, start: float = EPOCH_SECONDS) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


@dataclass
class Secondary:
    per_minute: int = 80
    per_hour: int = 500
    concurrent: int = 100
    status: int = 403  # GitHub answers 403 or 429
    writes: deque[float] = field(default_factory=deque)  # times of accepted writes

    def refuse(self, method: str, now: float, in_flight: int) -> Response | None:
        """The answer to a request over a secondary limit, or None to serve it."""
        if in_flight > self.concurrent:
            return self._answer(60)
        if method not in WRITES:
            return None
        while self.writes and self.writes[0] <= now - 3600:
            self.writes.popleft()
        minute = [t for t in self.writes if t > now - 60]
        if len(minute) >= self.per_minute:
            return self._answer(minute[0] + 60 - now)
        if len(self.writes) >= self.per_hour:
            return self._answer(self.writes[0] + 3600 - now)
        self.writes.append(now)
        return None

    def _answer(self, wait: float) -> Response:
        response = error(self.status, SECONDARY_MESSAGE)
        response.body["documentation_url"] = SECONDARY_DOCS
        response.headers["Retry-After"] = str(max(math.ceil(wait), 1))
        return response


@dataclass
class Primary:
    limit: int = 1000  # GITHUB_TOKEN: 1,000 an hour per repository
    status: int = 403
    window_start: float = 0.0
    used: int = 0

    def take(self, now: float) -> tuple[Response | None, dict[str, str]]:
        """(refusal or None, the x-ratelimit headers of this answer)."""
        if now >= self.window_start + 3600:
            self.window_start, self.used = now, 0
        refused = self.used >= self.limit
        if not refused:
            self.used += 1
        reset = int(self.window_start + 3600)
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.limit - self.used),
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Used": str(self.used),
            "X-RateLimit-Resource": "core",
        }
        if not refused:
            return None, headers
        response = error(self.status, "API rate limit exceeded for installation ID 1.")
        response.body["documentation_url"] = PRIMARY_DOCS
        return response, headers
