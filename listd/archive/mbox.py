"""An archive as a standard mbox (mboxrd, as Python's mailbox writes it): export and import.

Import takes a Mailman or Sympa archive, so a list moves to listd with its history; it is
idempotent on Message-ID (a message already archived is counted, not added again).
"""

from __future__ import annotations

import datetime as dt
import mailbox
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from listd import audit
from listd.archive.store import all_messages, archive_message
from listd.clock import utcnow
from listd.errors import UserError
from listd.models import MailingList


@dataclass(frozen=True)
class ImportReport:
    added: int
    already: int


def export_mbox(session: Session, mailing_list: MailingList, path: Path) -> int:
    box = mailbox.mbox(str(path), create=True)
    box.lock()
    try:
        count = 0
        for row in all_messages(session, mailing_list):
            entry = mailbox.mboxMessage(row.raw)
            entry.set_from(row.author_address or "MAILER-DAEMON",
                           time.gmtime(row.date.replace(tzinfo=dt.UTC).timestamp()))
            box.add(entry)
            count += 1
        box.flush()
    finally:
        box.unlock()
        box.close()
    return count


def import_mbox(session: Session, mailing_list: MailingList, path: Path,
                actor: str = audit.CLI_ACTOR) -> ImportReport:
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    box = mailbox.mbox(str(path), create=False)
    added = already = 0
    try:
        for key in box.iterkeys():
            raw = box.get_bytes(key)
            if archive_message(session, mailing_list, raw, utcnow()) is None:
                already += 1
            else:
                added += 1
    finally:
        box.close()
    audit.record(session, actor, "archive.imported", mailing_list, str(path), added=added,
                 already=already)
    return ImportReport(added, already)
