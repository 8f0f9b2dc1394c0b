"""`listd member add|remove|set|ls|import`."""

from __future__ import annotations

import sys
from typing import IO

import click

from listd import members
from listd.cli.context import App, emit_stream, json_option, pass_app
from listd.delivery_modes import parse_delivery_mode
from listd.lists import find_list
from listd.models import DeliveryMode, Role

role_option = click.option(
    "--role", type=click.Choice([r.value for r in Role]), default=Role.SUBSCRIBER.value,
    show_default=True, help="The member's role on the list.")

force_option = click.option(
    "--force", is_flag=True,
    help="Add addresses on the suppression list too (only with the person's new consent); "
         "their suppression is lifted.")


@click.group("member")
def command() -> None:
    """A list's subscribers, owners and moderators."""


@command.command("add")
@click.argument("address")
@click.argument("member_address", metavar="ADDR")
@click.option("--name", default="", help="The member's display name.")
@role_option
@force_option
@pass_app
def add(app: App, address: str, member_address: str, name: str, role: str,
        force: bool) -> None:
    """Add ADDR to list ADDRESS (no confirmation: the admin vouches for it)."""
    with app.db.session() as session:
        mailing_list = find_list(session, address)
        member = members.add_member(session, mailing_list, member_address, name, Role(role),
                                    robot=app.config.robot, force=force)
        click.echo(f"{member.address} added to {mailing_list.address} as {role}")


@command.command("remove")
@click.argument("address")
@click.argument("member_address", metavar="ADDR")
@role_option
@pass_app
def remove(app: App, address: str, member_address: str, role: str) -> None:
    """Remove ADDR from list ADDRESS."""
    with app.db.session() as session:
        mailing_list = find_list(session, address)
        members.remove_member(session, mailing_list, member_address, Role(role))
        click.echo(f"{member_address.strip().lower()} removed from {mailing_list.address}")


@command.command("set")
@click.argument("address")
@click.argument("member_address", metavar="ADDR")
@click.option("--delivery", required=True, metavar="|".join(m.value for m in DeliveryMode),
              help="How the member receives the list.")
@pass_app
def set_(app: App, address: str, member_address: str, delivery: str) -> None:
    """Set how subscriber ADDR of list ADDRESS receives it."""
    mode = parse_delivery_mode(delivery)
    with app.db.session() as session:
        mailing_list = find_list(session, address)
        member = members.set_delivery_mode(session, mailing_list, member_address, mode)
        click.echo(f"{member.address} on {mailing_list.address}: delivery {mode.value}")


@command.command("ls")
@click.argument("address")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=None,
              help="Only members with this role.")
@json_option
@pass_app
def ls(app: App, address: str, role: str | None, as_json: bool) -> None:
    """List the members of list ADDRESS."""
    with app.db.reading() as session:
        mailing_list = find_list(session, address)
        # Role by role (as the roles sort), each in address order, a batch at a time.
        roles = sorted(Role, key=lambda r: r.value) if role is None else [Role(role)]
        rows = (members.describe_member(m) for r in roles
                for m in members.iter_members(session, mailing_list, role=r))
        emit_stream(rows, as_json, lambda r: f"{r['address']:40} {r['role']:10} "
                                             f"{r['delivery']:7} {r['status']:9} {r['name']}",
                    empty=f"no {role or 'member'}s on {address}")


@command.command("import")
@click.argument("address")
@click.argument("source", type=click.File("r", encoding="utf-8", errors="replace"))
@role_option
@force_option
@pass_app
def import_(app: App, address: str, source: IO[str], role: str, force: bool) -> None:
    """Add members to ADDRESS from SOURCE (a file or -), one `address Full Name` a line."""
    with app.db.session() as session:
        mailing_list = find_list(session, address)
        report = members.import_members(session, mailing_list, source, Role(role),
                                        robot=app.config.robot, force=force)
    for number, line, reason in report.refused:
        click.echo(f"line {number}: refused {line!r}: {reason}", err=True)
    click.echo(f"{report.added} added, {report.already_members} already members, "
               f"{len(report.refused)} refused")
    if report.refused and not report.added:
        sys.exit(1)
