"""Per-recipient DKIM signatures on every core: a pool of signing worker processes.

A personal message (a one-click unsubscribe token per recipient) is signed once per
recipient: one RSA-2048 private-key operation each, most of a millisecond of CPU, which one
process (one core, one GIL) cannot spread. The delivery worker hands the pool a message's
`SigningTemplate` as plain parts with a chunk of tokens and gets the signature fields back;
each worker parses a key once and keeps it.

The workers are spawned, not forked (the daemon has threads and open database
connections), started on first use (most lists never need them), ignore SIGINT (the daemon
decides when to stop), and die with the daemon (PR_SET_PDEATHSIG), so even a SIGKILLed
`listd serve` leaves no orphan. Nothing here touches the queue: what was claimed, sent and
recorded is decided as without the pool, so exactly-once and crash-resume are unchanged.

When `listd serve` delivers from several processes (`outbound.delivery_processes`, one per
core by default), each signs in a thread of its own and no pool is started unless
`outbound.signing_workers` asks for one: the delivery processes already put RSA on every core.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from listd.deliverability.dkim_signature import DkimSigner, SigningTemplate, TemplateParts

log = logging.getLogger("listd.deliverability")

__all__ = ["BrokenProcessPool", "SigningPool", "pool_size"]

# Tokens per task: small enough that every worker gets a share of a claimed batch and the
# first connections get their jobs early, large enough that the template's parts (about the
# size of the message) travel once for many signatures.
CHUNK = 32
_PR_SET_PDEATHSIG = 1

# Worker side: the keys this process has parsed, by (domain, selector, PEM).
_signers: dict[tuple[str, str, str], DkimSigner] = {}


def pool_size(configured: int | None, delivery_processes: int = 1) -> int:
    """Worker processes for `outbound.signing_workers` in one of DELIVERY_PROCESSES: None
    means one per core when one process delivers, else none (each delivery process signs
    in a thread of its own, which spreads RSA over the cores without the pool's IPC)."""
    if configured is None:
        if delivery_processes > 1:
            return 0
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else os.cpu_count() or 1
    return max(0, configured)


def _start_worker(parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    # The parent may have died before prctl took effect: then nobody would signal us.
    if os.getppid() != parent:
        os._exit(0)


def sign_many(parts: TemplateParts, tokens: list[bytes]) -> list[bytes]:
    """In a worker: the DKIM-Signature field for each token (the message's placeholder)."""
    key = (parts.domain, parts.selector, parts.pem)
    signer = _signers.get(key)
    if signer is None:
        signer = _signers[key] = DkimSigner.from_pem(parts.domain, parts.selector,
                                                     parts.algorithm, parts.pem)
    template = SigningTemplate.from_parts(signer, parts)
    return [template.signature(token) for token in tokens]


class SigningPool:
    """WORKERS signing processes, started on first use; 0 workers: not used at all."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None

    @property
    def enabled(self) -> bool:
        return self.workers > 0

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker, initargs=(os.getpid(),))
            log.info("signing pool: %d worker processes", self.workers)
        return self._executor

    async def signatures(self, template: SigningTemplate, tokens: list[bytes]) -> list[bytes]:
        """One signature field per token, in order, made in the workers. On
        BrokenProcessPool (a worker was killed) the pool is rebuilt on the next call."""
        parts = template.parts()
        loop = asyncio.get_running_loop()
        pool = self._pool()
        try:
            pieces = await asyncio.gather(*(
                loop.run_in_executor(pool, sign_many, parts, tokens[start:start + CHUNK])
                for start in range(0, len(tokens), CHUNK)))
        except BrokenProcessPool:
            self._drop(pool)
            raise
        return [signature for piece in pieces for signature in piece]

    def _drop(self, pool: ProcessPoolExecutor) -> None:
        if self._executor is pool:
            self._executor = None
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the workers and wait for them (each finishes at most its current chunk)."""
        pool, self._executor = self._executor, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
