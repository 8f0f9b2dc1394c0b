"""`listd post ls | report | send | cancel`: newsletters sent as the list, and their reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from listd import post_report, post_send
from listd.cli.context import App, emit, json_option, pass_app
from listd.clock import utcnow
from listd.lists import find_list


@click.group("post")
def command() -> None:
    """A list's posts: their reports, and sending a prepared message as the list."""


def _headline(r: dict[str, Any]) -> str:
    f = r["figures"]
    return (f"recipients={f['recipients']} delivered={f['delivered']} "
            f"deferred={f['deferred']} failed={f['failed']} bounced={f['bounced']} "
            f"complaints={f['complaints']} unsubscribed={f['unsubscribed']}")


def _line(r: dict[str, Any]) -> str:
    when = r["send_at"] if r["state"] in ("scheduled", "cancelled") else r["created_at"]
    variant = f" [{r['variant']}]" if r["variant"] else ""
    figures = "" if r["state"] in ("scheduled", "cancelled", "processing") \
        else "  " + _headline(r)
    return f"{r['post']:>6}  {when or '-'}  {r['state']:<10} {r['subject']}{variant}{figures}"


@command.command("ls")
@click.argument("list_address", metavar="LIST@DOMAIN")
@click.option("--limit", type=click.IntRange(min=1), default=post_report.DEFAULT_LIMIT,
              show_default=True, help="How many of the newest posts.")
@json_option
@pass_app
def ls(app: App, list_address: str, limit: int, as_json: bool) -> None:
    """The list's posts and digests, newest first, with sends scheduled or cancelled."""
    with app.db.reading() as session:
        rows = [r.as_json() for r in post_report.list_posts(
            session, find_list(session, list_address), limit)]
    emit(rows, as_json, _line, empty="no posts")


def _render_report(r: dict[str, Any]) -> str:
    lines = [f"post {r['post']} {r['list_address'] or '-'} {r['kind']} {r['state']}: "
             f"{r['subject']}",
             f"  sent {r['created_at'] or '-'}"
             + (f"  scheduled for {r['send_at']}" if r["send_at"] else "")
             + (f"  sample {r['sample']}" if r["sample"] else "")
             + (f"  excluding recipients of {','.join(r['excluded_recipients_of'])}"
                if r["excluded_recipients_of"] else "")]
    columns = [r, *r["variants"]]
    if len(columns) > 1:
        lines.append(f"  {'':<24}" + "".join(f"{c['variant'] + ' (' + c['post'] + ')':>14}"
                                             for c in columns))
    for key in ("recipients", "delivered", "pending", "deferred", "failed", "bounced",
                "bounced_hard", "bounced_soft", "bounced_policy", "complaints",
                "unsubscribed", "unsubscribed_one_click", "unsubscribed_self"):
        label = key if key != "unsubscribed" else f"unsubscribed ({r['unsubscribe_days']} d)"
        lines.append(f"  {label:<24}" + "".join(f"{c['figures'][key]:>14}" for c in columns))
    for one in r["clicks"]:
        members = f", {one['members']} members" if one["members"] is not None else ""
        lines.append(f"  link {one['link']}: {one['clicks']} clicks{members}  {one['url']}")
    return "\n".join(lines)


@command.command("report")
@click.argument("post")
@click.option("--days", type=click.IntRange(min=0),
              default=post_report.DEFAULT_UNSUBSCRIBE_DAYS, show_default=True,
              help="Count the members who left within this many days after the post.")
@json_option
@pass_app
def report(app: App, post: str, days: int, as_json: bool) -> None:
    """What became of POST (an id from 'listd post ls'): delivered, bounced, who left."""
    with app.db.reading() as session:
        result = post_report.report(session, post_report.resolve(session, post), days)
        emit(result.as_json(), as_json, _render_report)


@command.command("send")
@click.argument("list_address", metavar="LIST@DOMAIN")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--subject", help="The Subject (needed unless FILE is a .eml that has one).")
@click.option("--from", "poster", help="The owner it comes from (default: the first owner).")
@click.option("--test", is_flag=True, help="To the owners only, marked [TEST], not archived.")
@click.option("--at", help="Send at this time, e.g. '2026-12-24 09:00' (UTC unless an offset "
                           "is given), by 'listd serve'.")
@click.option("--sample", help="To a random part of the members: a count (2000) or a "
                               "percentage (50%).")
@click.option("--exclude-recipients-of", "exclude", metavar="POST[,POST…]",
              help="Only to the members who did not receive these posts.")
@click.option("--variant", type=click.Path(path_type=Path),
              help="A/B: this second version goes to the other half of the sample.")
@pass_app
def send(app: App, list_address: str, file: Path, subject: str | None, poster: str | None,
         test: bool, at: str | None, sample: str | None, exclude: str | None,
         variant: Path | None) -> None:
    """Send a prepared message FILE (.eml, or text/Markdown with --subject) as the list."""
    request = post_send.SendRequest(list_address, file, subject, poster, test, at, sample,
                                    exclude, variant)
    with app.db.session() as session:
        sends = post_send.send(session, app.config, request, utcnow())
        names = [f"s{one.id}" + (f" ({one.variant})" if one.variant else "") for one in sends]
        when = f"scheduled for {sends[0].send_at:%Y-%m-%d %H:%M} UTC" if sends[0].send_at \
            else "submitted; 'listd serve' distributes it"
    click.echo(f"{' and '.join(names)}: {'test to the owners, ' if test else ''}{when}")


@command.command("cancel")
@click.argument("post")
@pass_app
def cancel(app: App, post: str) -> None:
    """Cancel POST, a send scheduled with --at (both halves of an A/B pair)."""
    with app.db.session() as session:
        one = post_send.cancel(session, post, utcnow())
        name = f"s{one.id}"
    click.echo(f"{name} is cancelled")
