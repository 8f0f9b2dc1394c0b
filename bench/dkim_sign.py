"""DKIM signing cost per message, RSA-2048 against Ed25519, on one core.

    .venv/bin/python bench/dkim_sign.py [--messages 300] [--runs 5]

Signs a typical rendered list post (headers as distribution writes them, a 3 kB body) with
`DkimSigner.sign`, and prints the median over several runs of the per-message time and the
messages per second one core can sign.
"""

from __future__ import annotations

import argparse
import statistics
import time

from listd.deliverability.dkim_keys import Algorithm, generate_private_key
from listd.deliverability.signing import DkimSigner

HEADERS = (
    b"From: Jeanne Dupont via News <news@lists.example.org>\r\n"
    b"Reply-To: Jeanne Dupont <jeanne@example.org>\r\n"
    b"To: news@lists.example.org\r\n"
    b"Subject: [news] The assembly is on Friday\r\n"
    b"Date: Mon, 06 May 2024 10:00:00 +0200\r\n"
    b"Message-ID: <assembly-2024@example.org>\r\n"
    b"List-Id: <news.lists.example.org>\r\n"
    b"List-Unsubscribe: <https://lists.example.org/unsubscribe/AbCdEfGhIjKlMnOpQrStUvWxYz0123"
    b"456789>, <mailto:news-leave@lists.example.org>\r\n"
    b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    b"List-Post: <mailto:news@lists.example.org>\r\n"
    b"Precedence: list\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n\r\n")
BODY = (b"Dear members, the assembly takes place on Friday at 18:00 in the hall.\r\n" * 42)


def measure(signer: DkimSigner, messages: int) -> float:
    """Seconds per message over MESSAGES signatures (each message a little different)."""
    posts = [HEADERS.replace(b"assembly-2024", f"assembly-{i}".encode()) + BODY
             for i in range(messages)]
    started = time.perf_counter()
    for post in posts:
        signer.sign(post)
    return (time.perf_counter() - started) / messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"DKIM signing, {len(HEADERS) + len(BODY)} byte message, relaxed/relaxed, "
          f"median of {args.runs} runs of {args.messages} messages, one core")
    for algorithm, label in ((Algorithm.RSA, "RSA-2048"), (Algorithm.ED25519, "Ed25519")):
        signer = DkimSigner.from_pem("lists.example.org", "bench", algorithm,
                                     generate_private_key(algorithm))
        measure(signer, 10)  # warm-up
        per_message = statistics.median(measure(signer, args.messages)
                                        for _ in range(args.runs))
        print(f"  {label:9} {per_message * 1e6:9.0f} µs/message  "
              f"{1 / per_message:8.0f} messages/s")


if __name__ == "__main__":
    main()
