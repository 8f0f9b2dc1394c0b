"""A small authoritative DNS server for tests: UDP on 127.0.0.1, a free port, a dict for a zone.

It runs in a thread of its own, so synchronous code (the CLI, dkimpy, pyspf) and async code
in the test's event loop can both ask it. The zone maps a name to its records by type, in
zone-file syntax: {"example.org": {"MX": ["10 mx.example.org."], "TXT": ['"v=spf1 -all"']}}.
It may be changed while the server runs. `silent=True` makes it drop every query (a DNS
server that does not answer); the queries it drops are still recorded in `queries`, so a test
can wait until a lookup is pending.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from listd.config import DnsConfig

Zone = dict[str, dict[str, list[str]]]
TTL = 300


class DnsServer:
    def __init__(self, zone: Zone | None = None, *, silent: bool = False) -> None:
        self.zone: Zone = zone if zone is not None else {}
        self.silent = silent
        self.queries: list[tuple[str, str]] = []
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="test-dns", daemon=True)

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    @property
    def config(self) -> DnsConfig:
        return DnsConfig(nameservers=("127.0.0.1",), port=self.port, timeout=1.0)

    def start(self) -> DnsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._socket.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                query = dns.message.from_wire(data)
            except dns.exception.DNSException:
                continue
            question = query.question[0]
            self.queries.append((question.name.to_text(omit_final_dot=True).lower(),
                                 dns.rdatatype.to_text(question.rdtype)))
            if not self.silent:
                self._socket.sendto(self._answer(query), peer)

    def _answer(self, query: dns.message.Message) -> bytes:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        records = {k.lower().rstrip("."): v for k, v in self.zone.items()}
        if name not in records:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif records[name].get(rdtype):
            response.answer.append(dns.rrset.from_text_list(
                question.name, TTL, dns.rdataclass.IN, question.rdtype, records[name][rdtype]))
        limit = query.payload if query.edns >= 0 else 512
        wire = response.to_wire()
        if len(wire) > limit:
            response.answer.clear()
            response.flags |= dns.flags.TC
            wire = response.to_wire()
        return wire
