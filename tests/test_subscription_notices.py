"""The owners' notice of each subscription and unsubscription comes whatever the door: the
CLI, the API, a one-click unsubscribe on the web (mail: tests/test_commands_sympa_mailman.py),
through a real listd; none for a bulk import, none twice for a removal for bounces."""

from __future__ import annotations

import httpx

from listd.config import Config
from listd.database import Database
from listd.deliverability.unsubscribe import unsubscribe_token
from listd.lists import find_list
from listd.serve import Daemon
from tests.api.conftest import bearer, make_key
from tests.conftest import CLI
from tests.support.lists import make_list
from tests.support.outbox import settle
from tests.support.robot import body, wait_for_mail, written_to

DOMAIN = "lists.example.org"
NEWS = f"news@{DOMAIN}"
OWNER = "owner@example.org"
ANN = "ann@example.org"


def subjects(config: Config) -> list[str]:
    return [" ".join(str(w.message["Subject"]).split()) for w in written_to(config, OWNER)]


async def test_cli_api_and_web_changes_each_tell_the_owners(
        daemon: Daemon, db: Database, config: Config, listd_cli: CLI) -> None:
    make_list(db, config, NEWS, template="discussion", owners=(OWNER,), subscribers=(ANN,))
    listd_cli.ok("member", "add", NEWS, "cli@example.org", "--name", "Cli User")
    (notice,) = await wait_for_mail(config, OWNER, 1, "the CLI's subscription notice")
    assert str(notice.message["Subject"]) == f"{NEWS}: cli@example.org subscribed"
    assert f"Cli User <cli@example.org> is now subscribed to {NEWS}.\n\nThe list has 2" \
        in body(notice)
    listd_cli.ok("member", "remove", NEWS, "cli@example.org")
    await wait_for_mail(config, OWNER, 2, "the CLI's unsubscription notice")

    key = bearer(make_key(db, "crm", NEWS))
    async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{daemon.http_port}/api/v1", timeout=30) as api:
        added = await api.post(f"/lists/{NEWS}/members", headers=key,
                               json={"address": "api@example.org"})
        assert added.status_code == 201, added.text
        await wait_for_mail(config, OWNER, 3, "the API's subscription notice")
        removed = await api.delete(f"/lists/{NEWS}/members/api@example.org", headers=key)
    assert removed.status_code == 204, removed.text
    await wait_for_mail(config, OWNER, 4, "the API's unsubscription notice")

    with db.reading() as session:
        list_id = find_list(session, NEWS).id
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{daemon.http_port}") as web:
        answer = await web.post(f"/unsubscribe/{unsubscribe_token('test-secret', list_id, ANN)}",
                                data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    await wait_for_mail(config, OWNER, 5, "the one-click unsubscription notice")
    assert subjects(config) == [
        f"{NEWS}: cli@example.org subscribed", f"{NEWS}: cli@example.org unsubscribed",
        f"{NEWS}: api@example.org subscribed", f"{NEWS}: api@example.org unsubscribed",
        f"{NEWS}: {ANN} unsubscribed"]
    assert "The list has 0 subscribers" in body(written_to(config, OWNER)[4])


async def test_no_notice_for_a_list_being_set_up_a_bulk_import_or_when_turned_off(
        daemon: Daemon, db: Database, config: Config, listd_cli: CLI) -> None:
    # make_list adds its subscribers before it approves the list: no notice for those.
    make_list(db, config, NEWS, template="discussion", owners=(OWNER,),
              subscribers=(ANN, "bob@example.org"))
    listd_cli.ok("member", "import", NEWS, "-", input="c@example.org\nd@example.org\n")
    listd_cli.ok("list", "set", NEWS, "subscription_notices", "off")
    listd_cli.ok("member", "add", NEWS, "e@example.org")
    listd_cli.ok("list", "set", NEWS, "subscription_notices", "on")
    listd_cli.ok("member", "add", NEWS, "f@example.org")
    await wait_for_mail(config, OWNER, 1, "the one notice")
    await settle(db, inbound=0)
    assert subjects(config) == [f"{NEWS}: f@example.org subscribed"]
