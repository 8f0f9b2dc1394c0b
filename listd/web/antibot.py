"""What the public subscribe form asks of a browser, so bots cannot use it to bomb a victim's
mailbox with confirmation requests: an empty honeypot field, a signed form timestamp (neither
instant nor stale), and a proof of work computed by a small self-hosted script.

The challenge is `TIMESTAMP.NONCE.MAC`; the work is a number N such that
SHA-256(challenge ":" N) starts with DIFFICULTY zero bits. It costs a browser a second and a
bot that wants thousands of victims thousands of seconds. Pure functions: no database.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets

DIFFICULTY = 14
MIN_AGE = 1.0
MAX_AGE = 24 * 3600.0
HONEYPOT = "website"


class Refusal(enum.StrEnum):
    HONEYPOT = "honeypot"
    BAD_CHALLENGE = "bad-challenge"
    TOO_FAST = "too-fast"
    STALE = "stale"
    NO_WORK = "no-work"


def _mac(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), f"form\0{text}".encode(), hashlib.sha256).hexdigest()[:32]


def new_challenge(secret: str, now: float) -> str:
    head = f"{int(now)}.{secrets.token_hex(8)}"
    return f"{head}.{_mac(secret, head)}"


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def work_done(challenge: str, solution: str, difficulty: int = DIFFICULTY) -> bool:
    if not solution.isdigit() or len(solution) > 12:
        return False
    digest = hashlib.sha256(f"{challenge}:{solution}".encode()).digest()
    return leading_zero_bits(digest) >= difficulty


def check(secret: str, now: float, challenge: str, solution: str, honeypot: str,
          difficulty: int = DIFFICULTY) -> Refusal | None:
    """Why this submission looks automated, or None when it passed every test."""
    if honeypot:
        return Refusal.HONEYPOT
    head, _, mac = challenge.rpartition(".")
    stamp = head.partition(".")[0]
    if not stamp.isdigit() or not hmac.compare_digest(mac, _mac(secret, head)):
        return Refusal.BAD_CHALLENGE
    age = now - int(stamp)
    if age < MIN_AGE:
        return Refusal.TOO_FAST
    if age > MAX_AGE:
        return Refusal.STALE
    if not work_done(challenge, solution, difficulty):
        return Refusal.NO_WORK
    return None


def solve(challenge: str, difficulty: int = DIFFICULTY) -> str:
    """What the script computes (for tests and benchmarks)."""
    number = 0
    while not work_done(challenge, str(number), difficulty):
        number += 1
    return str(number)
