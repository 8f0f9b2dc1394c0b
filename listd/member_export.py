"""A list's members as CSV, streamed: the one export the API and the owners' pages serve."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from listd import members
from listd.lists import find_list
from listd.runtime import Runtime

COLUMNS = ("address", "name", "role", "delivery", "status", "subscribed_at")
# Rows per chunk handed to the web server: memory stays flat at any list size.
CHUNK_ROWS = 500


def csv_chunks(runtime: Runtime, list_address: str) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    with runtime.db.reading() as session:
        mailing_list = find_list(session, list_address)
        for number, m in enumerate(members.iter_members(session, mailing_list)):
            writer.writerow([m.address, m.display_name, m.role.value, m.delivery_mode.value,
                             m.status.value, m.subscribed_at.isoformat(timespec="seconds")])
            if number % CHUNK_ROWS == 0:
                yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
