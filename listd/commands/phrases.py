"""The short texts of command replies, by key, through the one text mechanism (listd/i18n.py):
English here, with `{placeholders}`; the translations are in listd/locale/LANG/LC_MESSAGES."""

from __future__ import annotations

from listd.i18n import N_, translate

PHRASES: dict[str, str] = {
    "result_line": N_("{status}: {text}"),
    "status_done": N_("Done"),
    "status_waiting": N_("Waiting"),
    "status_refused": N_("Refused"),
    "status_unknown": N_("Unknown command"),
    "unknown_command": N_(
        "{verb} is not a command; send HELP to {request} for the list of commands."),
    "no_commands": N_(
        "No command was found in your mail; send HELP to {request} for the list of commands."),
    "lines_ignored": N_(
        "{count} more lines were not read: at most 100 commands are read from one mail."),
    "usage": N_("usage: {usage}"),
    "no_such_list": N_("there is no list named {name} here."),
    "which_list": N_("which list? Name the list after the command."),
    "confirmation_sent": N_(
        "a confirmation request was sent to {address}; the request is carried out once it is "
        "answered."),
    "owner_confirmation_sent": N_(
        "to make sure you sent this command, a confirmation request was sent to {address}."),
    "too_many_confirmations": N_(
        "at most {limit} requests that need a confirmation are accepted in one mail."),
    "subscription_closed": N_("{list} does not take subscriptions by mail; write to its owners."),
    "already_subscribed": N_("you are already subscribed to {list}."),
    "not_subscribed": N_("you are not subscribed to {list}."),
    "subscribed": N_("{address} is now subscribed to {list}."),
    "unsubscribed": N_("{address} is no longer subscribed to {list}."),
    "waiting_for_owners": N_(
        "your request is confirmed and now waits for the approval of the owners of {list}."),
    "already_member": N_("{address} is already subscribed to {list}."),
    "not_member": N_("{address} is not subscribed to {list}."),
    "added": N_("{address} was added to {list}."),
    "removed": N_("{address} was removed from {list}."),
    "request_refused": N_("the subscription of {address} to {list} was refused; they were told."),
    "owners_only": N_("only the owners of {list} may do this."),
    "invalid_address": N_("{address} is not a valid address."),
    "delivery_set": N_("your subscription to {list} is now in {mode} mode."),
    "delivery_unserved": N_(
        "{mode} delivery is not available on this server, so your subscription was not "
        "changed; choose one of {modes}."),
    "archive_off": N_("{list} keeps no archive."),
    "archive_members": N_("only the members of {list} may read its archive."),
    "archive_owners": N_("only the owners of {list} may read its archive."),
    "archive_empty": N_("the archive of {list} holds no message yet."),
    "archive_index": N_("the archive of {list}, {count} newest messages (GET list N sends one):"),
    "archive_no_message": N_("the archive of {list} has no message #{number}."),
    "token_unknown": N_("this confirmation is not known here; check the token, or ask again."),
    "token_used": N_("this confirmation was already used."),
    "token_expired": N_("this confirmation has expired; please ask again."),
    "list_gone": N_("the list of this request no longer takes requests."),
    "lists": N_("Public lists at {domain}:"),
    "welcome_post": N_("To post, write to {list}."),
    "welcome_moderated": N_(
        "To post, write to {list}: a moderator reads each post before it goes to the list."),
    "welcome_read_only": N_(
        "Only the owners post to this list; replies to its mail go to the sender."),
    "no_lists": N_("There are no public lists at {domain}."),
    "info": N_(
        "{list}: {subject}\n{description}\nSubscription: {subscription}\nOwners: "
        "{owners}\nCommands: {request}"),
    "policy_open": N_("open, with a confirmation"),
    "policy_approval": N_("approved by the owners, after a confirmation"),
    "policy_closed": N_("closed"),
    "review": N_("{list} has {count} subscribers:"),
    "more_members": N_("… and {count} more."),
    "review_owners": N_("only the owners of {list} may see its members."),
    "review_members": N_("only the members of {list} may see its members."),
    "which": N_("You are on these lists:"),
    "which_none": N_("You are not on any list here."),
    "role_subscriber": N_("subscriber"),
    "role_owner": N_("owner"),
    "role_moderator": N_("moderator"),
    "delivery_resumed": N_("delivery from {list} resumes, with a clean bounce score."),
    "held_approved": N_("the post of {sender} to {list} (#{id}) is approved and goes to the list."),
    "held_rejected": N_(
        "the post of {sender} to {list} (#{id}) is rejected; they were sent your reason."),
    "held_discarded": N_("the post of {sender} to {list} (#{id}) is discarded; nobody was told."),
    "held_unknown": N_("no held post matches this token; check it, or see whether it was purged."),
    "held_automatic": N_(
        "an automatic answer (auto-reply, bounce, robot) cannot decide on a post."),
    "held_not_moderator": N_("{address} is not a moderator of {list}."),
    "held_already": N_("held post #{id} was already {state} by {by}."),
    "held_state_approved": N_("approved"),
    "held_state_rejected": N_("rejected"),
    "held_state_discarded": N_("discarded"),
    "held_state_expired": N_("expired"),
    "held_state_held": N_("held"),
    "list_request_sent": N_(
        "your request for {list} was sent to the listmasters; you will be told their answer."),
    "listmasters_only": N_("only a listmaster may decide on a list request."),
    "list_opened": N_("the list {list} is now open; the requester and the owners were told."),
    "list_refused": N_("the list {list} was refused; the requester and the owners were told."),
    "decide_list_by_mail": N_(
        "To approve it, reply to this mail (it goes to {approve}),\nor send this line to "
        "{robot}:\n  CONFIRM {token}"),
    "refuse_list_by_mail": N_(
        "To refuse it, send a mail to {refuse},\nor this line to {robot}:\n  CONFIRM {token}"),
    "decide_list_by_cli": N_(
        "From the command line:\n  listd list approve {list}\n  listd list reject {list}"),
    "already_role": N_("{address} is already {role} of {list}."),
    "not_role": N_("{address} is not {role} of {list}."),
    "last_owner": N_("{address} is the last owner of {list}; add another owner first."),
    "role_added": N_("{address} is now {role} of {list}."),
    "role_removed": N_("{address} is no longer {role} of {list}."),
    "confirmation_already_sent": N_(
        "the same request is earlier in this mail; one confirmation was sent to {address}."),
    "confirmation_pending": N_(
        "a confirmation request for this was already sent to {address} and waits for an "
        "answer; it is sent again once a day at most."),
    "confirmation_reminded": N_(
        "this request already waited for a confirmation; its request was sent again to "
        "{address}."),
    "answer_not_from_address": N_(
        "this confirmation must be answered from the address it was sent to."),
    "answer_automatic": N_(
        "this answer looks automatic ({why}), so it was not taken as a confirmation. To "
        "confirm, answer the confirmation request yourself, or send a mail to {request} with "
        "this line:\n  CONFIRM {token}"),
}


def say(language: str, key: str, /, **values: object) -> str:
    return translate(language, PHRASES[key], **{k: str(v) for k, v in values.items()})
