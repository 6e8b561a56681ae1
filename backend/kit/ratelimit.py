"""Failure counters in Redis (fixed window) for login throttling.

Keys are platform-level (``tandem:shared:…``), never tenant data; identifiers
are hashed so no email or address is stored in Redis in clear.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from backend.kit.errors import TooManyRequests


def _key(kind: str, ident: str) -> str:
    digest = hashlib.sha256(ident.strip().lower().encode()).hexdigest()[:32]
    return f"tandem:shared:rl:login:{kind}:{digest}"


@dataclass
class LoginThrottle:
    redis: Any  # redis.asyncio.Redis
    max_per_account: int = 5
    max_per_ip: int = 30
    window_seconds: int = 900

    async def attempt(self, account: str, ip: str) -> None:
        """Count this sign-in attempt BEFORE checking the password; refuse once over a limit.

        Counting first (atomically, in one MULTI) means parallel guesses cannot all pass a
        read-then-increment check while the password hash is being verified.
        """
        keys = [_key("acct", account), _key("ip", ip)]
        pipe = self.redis.pipeline(transaction=True)
        for key in keys:
            # SET NX EX opens the window once; INCR keeps the TTL. (EXPIRE … NX needs Redis 7,
            # the embedded server is 6.2.)
            pipe.set(key, 0, ex=self.window_seconds, nx=True)
            pipe.incr(key)
        results = await pipe.execute()
        acct, by_ip = int(results[1]), int(results[3])
        if acct > self.max_per_account or by_ip > self.max_per_ip:
            ttl = await self.redis.ttl(keys[0] if acct > self.max_per_account else keys[1])
            raise TooManyRequests("Too many failed sign-in attempts. Try again later.", max(int(ttl), 1))

    async def succeeded(self, account: str, ip: str) -> None:
        """A correct password: the account starts afresh and the attempt no longer counts for the IP."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(_key("acct", account))
        pipe.decr(_key("ip", ip))
        await pipe.execute()


@dataclass
class Limiter:
    """A fixed-window limit on one kind of request per identifier (counted first, atomically)."""

    redis: Any
    name: str
    limit: int
    window_seconds: int
    detail: str = "Too many requests. Try again later."

    async def hit(self, ident: str) -> None:
        key = f"tandem:shared:rl:{self.name}:" + hashlib.sha256(ident.strip().lower().encode()).hexdigest()[:32]
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(key, 0, ex=self.window_seconds, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        _, count, ttl = await pipe.execute()
        if int(count) > self.limit:
            raise TooManyRequests(self.detail, max(int(ttl), 1))
