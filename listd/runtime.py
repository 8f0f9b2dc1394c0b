"""What the daemon's parts share: config, database, clock, signing key, and wake-up signals."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from listd.clock import Clock, SystemClock
from listd.config import Config
from listd.database import Database, site_secret
from listd.deliverability.dmarc import DmarcResolver
from listd.deliverability.signing import DkimKeyring
from listd.processes import Liveness, new_process_id


@dataclass
class Signals:
    """Events that wake a worker when there is new work, so idle workers need not poll fast."""

    inbound: asyncio.Event = field(default_factory=asyncio.Event)
    # Queue rows are due: the delivery worker claims them.
    outbound: asyncio.Event = field(default_factory=asyncio.Event)
    # An accepted post waits for its recipients to be queued: the expander queues them.
    expand: asyncio.Event = field(default_factory=asyncio.Event)

    def mail_queued(self) -> None:
        """Wake whatever must act on mail just committed to the outbound queue."""
        self.expand.set()
        self.outbound.set()


@dataclass
class Runtime:
    config: Config
    db: Database
    secret: str
    clock: Clock = field(default_factory=SystemClock)
    signals: Signals = field(default_factory=Signals)
    # host:pid:random, written into the rows this process claims and into its heartbeat row.
    worker_id: str = field(default_factory=new_process_id)
    # Built once per process and shared: each keeps a cache (parsed keys, DMARC answers).
    keyring: DkimKeyring = field(init=False)
    dmarc: DmarcResolver = field(init=False)
    liveness: Liveness = field(init=False)

    def __post_init__(self) -> None:
        self.liveness = Liveness(trusted_for=self.config.outbound.takeover_after / 2)
        self.keyring = DkimKeyring(self.db)
        self.dmarc = DmarcResolver(self.config.dns)

    @classmethod
    def create(cls, config: Config, db: Database, clock: Clock | None = None) -> Runtime:
        return cls(config=config, db=db, secret=site_secret(db, config.secret),
                   clock=clock or SystemClock())
