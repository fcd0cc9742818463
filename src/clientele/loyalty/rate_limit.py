"""The till API's rate limit per key: a fixed one-minute window counted in Redis (decision 0069).

One round trip per call (INCR and EXPIRE pipelined), keyed by a digest of the key the till
presented, so a flood with a wrong key never uses up a real till's allowance. Redis down: the
calls go through (logged, Redis tried again 5 s later); a till must never stop selling because
the limiter is away. Without CLIENTELE_REDIS_URL there is no limit.
"""

from __future__ import annotations

import hashlib
import logging
import time
from functools import lru_cache

from clientele.config import settings
from clientele.loyalty.errors import RateLimited

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 60
RETRY_REDIS_AFTER = 5.0


class TillRateLimit:
    """At most `limit` calls per key per minute."""

    def __init__(self, url: str, limit: int):
        import redis

        self.limit = limit
        self.client = redis.Redis.from_url(url, socket_timeout=0.05, socket_connect_timeout=0.05)
        self.errors = redis.RedisError
        self.down_until = 0.0

    def check(self, raw_key: str | None) -> None:
        """Count one call of the key; RateLimited past the limit. No key: nothing to count (the
        call is refused as unauthenticated anyway)."""
        if not raw_key:
            return
        now = time.time()
        if now < self.down_until:
            return
        bucket = f"clientele:till:{hashlib.sha256(raw_key.encode()).hexdigest()[:32]}:{int(now // WINDOW_SECONDS)}"
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.incr(bucket)
            pipe.expire(bucket, 2 * WINDOW_SECONDS)
            count, _ = pipe.execute()
        except self.errors as error:
            logger.warning("till rate limit off for %.0f s: Redis unavailable (%s)", RETRY_REDIS_AFTER, error)
            self.down_until = now + RETRY_REDIS_AFTER
            return
        if count > self.limit:
            raise RateLimited(self.limit)


@lru_cache(maxsize=4)
def _limiter(url: str, limit: int) -> TillRateLimit:
    return TillRateLimit(url, limit)


def check(raw_key: str | None) -> None:
    """Count a till call under its key (RateLimited past the limit); no limit without Redis configured."""
    config = settings()
    if config.redis_url:
        _limiter(config.redis_url, config.till_rate_limit).check(raw_key)
