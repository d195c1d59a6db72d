"""Redis in front, the database behind: write-through, fallback, recovery (architecture.md,
"Two tiers").

The two-tier adapters compose the Redis and SQL adapters (they import both; those two never
import each other or this package): the database decides every change and records in an
outbox the Redis work it owes; Redis mirrors, answers reads, and is skipped while a circuit
breaker says it is failing.
"""

from platform_sessions.adapters.two_tier.circuit_breaker import BreakerSettings, BreakerState, CircuitBreaker
from platform_sessions.adapters.two_tier.health import TwoTierHealth
from platform_sessions.adapters.two_tier.settings import TwoTierSettings
from platform_sessions.application.storage_operations import StorageHealth  # its old home

__all__ = [
    "BreakerSettings",
    "BreakerState",
    "CircuitBreaker",
    "StorageHealth",
    "TwoTierHealth",
    "TwoTierSettings",
]
