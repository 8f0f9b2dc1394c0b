"""How `listd serve` splits its outbound settings between its delivery processes.

`outbound.connections`, `outbound.per_domain_connections` and `outbound.quota.rate` are
limits of one `listd serve`, whatever number of processes it delivers from: each delivery
process gets a share, and the shares add up to the configured value. So the relay sees no
more connections than configured, and no recipient domain more than its limit.

A share may not be 0 (0 means "no limit" for the per-domain limit and the rate, and a
process without a connection could claim rows it cannot send): listd never runs more delivery
processes than there are connections, per-domain connections or messages per second.
"""

from __future__ import annotations

import dataclasses
import os

from listd.config import OutboundConfig


def cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def process_count(config: OutboundConfig) -> int:
    """Delivery processes for CONFIG: `delivery_processes` (null: one per core), at most one
    per connection, per-domain connection and message per second of the rate."""
    wanted = cores() if config.delivery_processes is None else config.delivery_processes
    bounds = [max(1, config.connections)]
    if config.per_domain_connections > 0:
        bounds.append(config.per_domain_connections)
    if config.quota.rate > 0:
        bounds.append(config.quota.rate)
    return max(1, min(wanted, *bounds))


def part(total: int, count: int, index: int) -> int:
    """Process INDEX's part of TOTAL split COUNT ways (the first ones take the remainder)."""
    return total // count + (1 if index < total % count else 0)


def share(config: OutboundConfig, count: int, index: int) -> OutboundConfig:
    """The outbound settings delivery process INDEX of COUNT runs with."""
    if count <= 1:
        return config
    per_domain = config.per_domain_connections
    rate = config.quota.rate
    return dataclasses.replace(
        config,
        connections=part(max(1, config.connections), count, index),
        per_domain_connections=part(per_domain, count, index) if per_domain > 0 else 0,
        quota=dataclasses.replace(config.quota,
                                  rate=part(rate, count, index) if rate > 0 else 0))
