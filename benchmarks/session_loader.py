"""Fill a private Redis with live sessions fast, in the library's own format.

Each session goes through the library's ``create_session`` script with the arguments
``RedisUserSessionRepository.create`` passes (a user below the limit: nothing declared), so
the hashes, TTLs and per-user indexes are exactly what logins would leave; the calls are
pipelined a thousand at a time instead of one round trip each. Only a sample of the tokens is
kept: enough to resolve random sessions without holding a million tokens.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from attrs import define, field

from platform_sessions.adapters.redis import RedisClient, RedisKeys
from platform_sessions.adapters.redis.epoch import duration_micros, to_micros, ttl_millis
from platform_sessions.adapters.redis.scripts import register
from platform_sessions.adapters.redis.session_codec import encode_session
from platform_sessions.domain.client import ClientInfo
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.routing import issue_token
from platform_sessions.domain.session import UserSession

PIPELINE_SIZE = 1000
SESSIONS_PER_USER = 4  # below the default limit of 20: a login that evicts nobody
# What a browser sends: the size of a real session, not of a test's "bench".
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IP_ADDRESS = "203.0.113.7"


@define
class SessionLoader:
    """Adds sessions to ``client`` under ``keys``; remembers a random sample of their tokens."""

    client: RedisClient
    keys: RedisKeys
    policy: SessionPolicy
    now: datetime
    sample_every: int
    loaded: int = 0
    sample: list[str] = field(factory=list)
    sample_users: list[str] = field(factory=list)
    _random: random.Random = field(factory=lambda: random.Random(7))

    def load_until(self, total: int) -> None:
        """Add sessions until ``total`` are loaded."""
        create = register(self.client, "create_session")
        while self.loaded < total:
            pipeline = self.client.pipeline(transaction=False)
            for _ in range(min(PIPELINE_SIZE, total - self.loaded)):
                keys, args = self._next_session()
                create(keys=keys, args=args, client=pipeline)
            for reply in pipeline.execute():
                if reply[0] != b"ok":
                    raise RuntimeError(f"create_session answered {reply[0]!r} while loading")

    def _next_session(self) -> tuple[list[str], list[Any]]:
        number = self.loaded
        self.loaded += 1
        user_id = f"load-user-{number // SESSIONS_PER_USER}"
        token = issue_token(self.keys.routing_key, user_id)
        if self._random.randrange(self.sample_every) == 0:
            self.sample.append(str(token))
            self.sample_users.append(user_id)
        session = UserSession.start(
            user_id=user_id,
            token_digest=token.digest,
            now=self.now,
            policy=self.policy,
            client=ClientInfo(user_agent=USER_AGENT, ip_address=IP_ADDRESS),
        )
        return _create_call(session, self.keys, self.policy)


def _create_call(session: UserSession, keys: RedisKeys, policy: SessionPolicy) -> tuple[list[str], list[Any]]:
    """KEYS and ARGV of ``create_session`` for a user below the limit (as the repository sends)."""
    digest, now = session.token_digest, session.last_seen_at
    label = keys.label_for(session.logged_in_user_id)
    args: list[Any] = [
        to_micros(now),
        duration_micros(policy.idle_timeout),
        policy.max_sessions_per_user,
        digest.hex,
        to_micros(session.absolute_expires_at),
        ttl_millis(session.expires_at(policy), now),
        ttl_millis(session.absolute_expires_at, now),
        0,  # no members declared
    ]
    for name, value in encode_session(session, label).items():
        args.extend((name, value))
    return [keys.session(digest), keys.index(digest.routing_tag, label)], args
