"""`listd bounce classify [FILE]`: what listd reads in a non-delivery report, as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from listd import audit
from listd.addresses import normalize_address
from listd.bounce import classify_message, report_json
from listd.bounce.scoring import restore
from listd.cli.context import App, emit, json_option, pass_app
from listd.errors import NotFound
from listd.lists import find_list
from listd.members import find_member
from listd.models import BounceEvent, Member


@click.group("bounce")
def command() -> None:
    """Bounce reports and members' bounce scores."""


@command.command("classify")
@click.argument("source", type=click.File("rb"), default="-")
@click.option("--dir", "directory", type=click.Path(file_okay=False, exists=True),
              help="Classify every *.eml file in DIR instead: one JSON line each, with 'file'.")
def classify(source: click.utils.LazyFile, directory: str | None) -> None:
    """Print one JSON object: is it a bounce, and which recipients failed, how and why."""
    if directory:
        for path in sorted(Path(directory).glob("*.eml")):
            found = report_json(classify_message(path.read_bytes()))
            click.echo(json.dumps({**found, "file": path.name}, ensure_ascii=False))
        return
    click.echo(json.dumps(report_json(classify_message(source.read())), ensure_ascii=False))


@command.command("ls")
@click.argument("address")
@json_option
@pass_app
def ls(app: App, address: str, as_json: bool) -> None:
    """Members of list ADDRESS with a bounce score: score, last bounce, reason, status."""
    with app.db.session() as session:
        mailing_list = find_list(session, address)
        rows = [describe_bounces(session, member) for member in session.scalars(
            select(Member).where(Member.list_id == mailing_list.id,
                                 (Member.bounce_score > 0)
                                 | (Member.bounce_suspended_at.is_not(None)))
            .order_by(Member.bounce_score.desc(), Member.address))]
    emit(rows, as_json, lambda r: f"{r['address']:40} score {r['score']:<4g} {r['status']:9} "
                                  f"last {r['last_bounce'] or '-':19} {r['reason'] or ''}")


@command.command("reset")
@click.argument("address")
@click.argument("member_address", metavar="ADDR")
@pass_app
def reset(app: App, address: str, member_address: str) -> None:
    """Clear ADDR's bounce score on list ADDRESS and resume delivery to it."""
    with app.db.session() as session:
        mailing_list = find_list(session, address)
        member = find_member(session, mailing_list, normalize_address(member_address))
        if member is None:
            raise NotFound(f"{member_address} is not subscriber of {mailing_list.address}")
        restore(member)
        audit.record(session, audit.CLI_ACTOR, "member.bounce_reset", mailing_list,
                     member.address)
    click.echo(f"{member.address}: bounce score cleared, delivery resumed")


def describe_bounces(session: Session, member: Member) -> dict[str, object]:
    last = session.execute(
        select(BounceEvent.received_at, BounceEvent.reason, BounceEvent.status,
               BounceEvent.effect)
        .where(BounceEvent.member_id == member.id)
        .order_by(BounceEvent.received_at.desc(), BounceEvent.id.desc()).limit(1)).first()
    return {
        "address": member.address,
        "score": member.bounce_score,
        "status": member.status.value,
        "last_bounce": last.received_at.isoformat(timespec="seconds") if last else None,
        "reason": last.reason if last else None,
        "last_status": last.status if last else None,
        "effect": last.effect if last else None,
        "warnings": member.bounce_warnings,
        "suspended_at": (member.bounce_suspended_at.isoformat(timespec="seconds")
                         if member.bounce_suspended_at else None),
    }
