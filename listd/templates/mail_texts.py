"""Every mail text listd writes, by name: a subject and a body, each one entry of the
gettext catalog (English here, the source; French in listd/locale/fr). `{name}`
placeholders are filled by templates.render; `{{` is a literal brace."""

from __future__ import annotations

from listd.i18n import N_, Nn_
from listd.templates.text import MailText

TEXTS: dict[str, MailText] = {
    "confirm_text": MailText(
        N_("Confirm: the {name} text of {list} (CONFIRM {token})"),
        N_("""Hello,

A mail from {owner} asked to change the {name} text of the list {list} to:

{text}

As an owner's command can be forged, it is carried out only once you confirm it:
reply to this mail, or send a mail to {request} with this line:

  CONFIRM {token}

If you did not send this command, ignore this mail.
This request expires in {days} days.
""")),
    "bounce_rate_owner": MailText(
        N_("{list}: a post bounced for {percent} % of its recipients"),
        N_("""The post "{subject}" to {list} has bounced for {bounced} of its {total}
recipients ({percent} %, more than the list's warning rate of {rate} %).

So many failures at once usually mean a problem of ours rather than of the members: the
post's content was refused as spam, the list's domain or IP is on a blocklist, or DKIM,
SPF or DMARC fail. The members' bounce scores rise all the same. The details:
  listd bounce ls {list}
  listd queue show {post}
""")),
    "held_reminder": MailText.counting(
        Nn_("{list}: {count} post waits for a moderator",
            "{list}: {count} posts wait for a moderator"),
        N_("""These posts to {list} have waited for a moderator for more than a day:

{posts}

To approve one, send its DISTRIBUTE line to {robot}; to refuse it, its REJECT line
(with a reason after the token, if you like). The list of held posts, at any time:
MODINDEX {list}. Undecided posts expire after {days} days.
""")),
    "bounce_owner_suspended": MailText(
        N_("{list}: delivery to {member} suspended after bounces"),
        N_("""Delivery to {member} on {list} is suspended: its bounce score reached
{score} (the list's threshold is {threshold}). Last reason: {reason}.

The member has been told and can resume delivery. Without an answer they
will be removed after {warnings} warnings. Details: listd bounce ls {list}
""")),
    "bounce_probe": MailText(
        N_("Checking your address for {list}"),
        N_("""Hello,

Mail from the list {list} to {member} has been refused or returned
several times lately. This message checks whether your address still
works: you need not do anything. If it arrives, delivery goes on as
before.
""")),
    "bounce_removed_owner": MailText(
        N_("{list}: {member} removed after repeated bounces"),
        N_("""{member} was removed from {list}: delivery had been suspended since
{suspended_at} because of bounces, and {warnings} warnings went unanswered.
""")),
    "bounce_suspended": MailText(
        N_("Your delivery from {list} is suspended"),
        N_("""Hello,

Mail from the list {list} to your address {member} has been refused
or returned several times, most recently because of: {reason}.
Delivery to you is suspended for now; you are still a member.

If you want to receive the list's mail again, reply to this message, or
send the command

    SET {list_name} MAIL

to {request}. Without an answer you will be removed from the list after
{warnings} more notices like this one.
""")),
    "bounce_unacted_owner": MailText(
        N_("{list}: a report listd did not act on"),
        N_("""A delivery report or complaint came back to {list}, and listd did not act on it:
{why}.

Addresses it names: {named}

Nobody's subscription or bounce score was changed. The report is attached; if it
is genuine, you can act on it yourself (`listd member remove`, `listd bounce ls`).
""")),
    "command_unreadable": MailText(
        N_("Your mail to {request} could not be read"),
        N_("""Hello,

Your mail to {request} could not be read, so none of the commands in it
was carried out:

  {problem}

This usually means the mail program produced a broken message. Please send
your commands again in a plain-text mail. To get the list of commands, send
a mail with HELP to {request}.
""")),
    "complaint_owner": MailText(
        N_("{list}: {member} unsubscribed after a spam complaint"),
        N_("""{member} marked a message from {list} as spam (an abuse report came back
from their mail provider, feedback type: {feedback_type}). They have been
unsubscribed from the list, as mailbox providers expect.
""")),
    "confirm_add": MailText(
        N_("Confirm: add {address} to {list} (CONFIRM {token})"),
        N_("""Hello,

A mail from {owner} asked to add {address} to the list {list}.

As an owner's command can be forged, it is carried out only once you confirm it:
reply to this mail, or send a mail to {request} with this line:

  CONFIRM {token}

If you did not send this command, ignore this mail.
This request expires in {days} days.
""")),
    "confirm_del": MailText(
        N_("Confirm: remove {address} from {list} (CONFIRM {token})"),
        N_("""Hello,

A mail from {owner} asked to remove {address} from the list {list}.

As an owner's command can be forged, it is carried out only once you confirm it:
reply to this mail, or send a mail to {request} with this line:

  CONFIRM {token}

If you did not send this command, ignore this mail.
This request expires in {days} days.
""")),
    "confirm_delivery": MailText(
        N_("Confirm delivery mode {mode} on {list} (CONFIRM {token})"),
        N_("""Hello,

Someone, probably you, asked to change how {address} receives the list {list}:
to {mode}.

To confirm, simply reply to this mail yourself (an automatic reply does not count),
or send a mail to {request} with this line:

  CONFIRM {token}

If you did not ask for this, ignore this mail: nothing will change.
This request expires in {days} days.
""")),
    "confirm_role_add": MailText(
        N_("Confirm: make {address} {role} of {list} (CONFIRM {token})"),
        N_("""Hello,

A mail from {owner} asked to make {address} {role} of the list {list}.

As an owner's command can be forged, it is carried out only once you confirm it:
reply to this mail, or send a mail to {request} with this line:

  CONFIRM {token}

If you did not send this command, ignore this mail.
This request expires in {days} days.
""")),
    "confirm_role_del": MailText(
        N_("Confirm: {address} no longer {role} of {list} (CONFIRM {token})"),
        N_("""Hello,

A mail from {owner} asked that {address} be no longer {role} of the list {list}.

As an owner's command can be forged, it is carried out only once you confirm it:
reply to this mail, or send a mail to {request} with this line:

  CONFIRM {token}

If you did not send this command, ignore this mail.
This request expires in {days} days.
""")),
    "confirm_subscribe": MailText(
        N_("Confirm your subscription to {list} (CONFIRM {token})"),
        N_("""Hello,

Someone, probably you, asked to subscribe {address} to the list {list}.

To confirm, simply reply to this mail yourself (an automatic reply does not count),
or send a mail to {request} with this line:

  CONFIRM {token}

If you did not ask for this, ignore this mail: nothing will happen.
This request expires in {days} days.
""")),
    "confirm_unsubscribe": MailText(
        N_("Confirm your unsubscription from {list} (CONFIRM {token})"),
        N_("""Hello,

Someone, probably you, asked to remove {address} from the list {list}.

To confirm, simply reply to this mail yourself (an automatic reply does not count),
or send a mail to {request} with this line:

  CONFIRM {token}

If you did not ask for this, ignore this mail: you stay subscribed.
This request expires in {days} days.
""")),
    "subscribed_owner": MailText(
        N_("{list}: {address} subscribed"),
        N_("""{who} <{address}> is now subscribed to {list}.

The list has {count} subscribers. These notices can be turned off:
  listd list set {list} subscription_notices off
""")),
    "unsubscribed_owner": MailText(
        N_("{list}: {address} unsubscribed"),
        N_("""{address} is no longer subscribed to {list}.

The list has {count} subscribers. These notices can be turned off:
  listd list set {list} subscription_notices off
""")),
    "goodbye": MailText(
        N_("You have left {list}"),
        N_("""Hello,

The address {address} is not subscribed to {list} any more.

To come back, send a mail to {join}.
""")),
    "held_expired": MailText(
        N_("Your post to {list} was not approved in time: {subject}"),
        N_("""Your message to {list} waited for a moderator's approval (it was held because:
{reason}), and no moderator decided within {days} days. It was not distributed.

Your message is attached. You can send it again, or write to the list's owners
at {owner}.
""")),
    "held_rejected": MailText(
        N_("Your post to {list} was rejected: {subject}"),
        N_("""A moderator of {list} rejected your message; it was not distributed.

Reason given: {reason}

Your message is attached. You can reach the list's owners at {owner}.
""")),
    "held_waiting": MailText(
        N_("Your post to {list} waits for a moderator: {subject}"),
        N_("""Your message to {list} was received. It is held until a moderator of the
list approves or rejects it; you will hear from us if it is rejected, or if
no moderator decides within {days} days.

There is no need to send it again. You can reach the list's owners at {owner}.
""")),
    "inbound_shunted": MailText(
        N_("A mail to {recipient} could not be processed"),
        N_("""A mail that listd accepted for {recipient} could not be processed, because of
an error in listd itself (not in the mail). It is kept, and nothing was done
with it yet:

  Inbound id:  {inbound_id}
  From:        {sender}
  Subject:     {subject}
  Error:       {error}

The log holds the details. Once the cause is fixed, process it again with
  listd inbound retry {inbound_id}
or every such mail with
  listd inbound retry --all
(`listd inbound ls --failed` lists them).
""")),
    "list_approved": MailText(
        N_("Your list {list} is open"),
        N_("""The list {list} was approved by a listmaster and now takes mail.

  Posts:        {list}
  Commands:     {robot} (send HELP for the list of commands)
  The owners:   {owner}
""")),
    "list_rejected": MailText(
        N_("Your list request {list} was refused"),
        N_("""A listmaster refused the request for the list {list}.

Reason given: {reason}
""")),
    "list_requested": MailText(
        N_("List request: {list}"),
        N_("""{requester} asks for a new list:

  List:      {list}
  Template:  {template}
  Subject:   {subject}
  Owners:    {owners}

The list takes no mail until a listmaster approves it.
{how_to_decide}
""")),
    "moderation_notice": MailText(
        N_("Held for moderation on {list}: {subject}"),
        N_("""A post to {list} waits for a moderator's decision.

  From:     {sender_address}
  Subject:  {subject}
  Reason:   {reason}
  Held as:  #{held_id}, until {expires} (UTC)

To approve it, simply reply to this mail: the reply goes to
  {confirm_address}
and what you write in it is not read.

To approve it by command instead, send this line to {robot}:
  DISTRIBUTE {token}

To reject it, send this line to {robot}; the poster receives your reason:
  REJECT {token} your reason

From the command line: listd held approve|reject|discard {held_id}

The post is attached.
""")),
    "owner_approval": MailText(
        N_("Subscription to approve: {address} on {list}"),
        N_("""Hello,

{who} <{address}> asked to subscribe to {list} and confirmed the request.
The list's policy asks an owner to approve new subscribers.

To approve, reply to this mail (the text of the reply does not matter),
or send "CONFIRM {approve_token}" to {request}.

To refuse, send a mail to {refuse}
or send "CONFIRM {refuse_token}" to {request}.

This request expires in {days} days.
""")),
    "post_administrivia": MailText(
        N_("Your command was sent to the list itself: {subject}"),
        N_("""Your message to {list} was not sent to every member of the list:
{reason}.

Commands go to the robot: send them to
  {robot}
for instance "HELP" in the subject or the body for the list of commands.

Your message is attached.
""")),
    "post_rejected": MailText(
        N_("Your post to {list} was not distributed: {subject}"),
        N_("""Your message to {list} was not sent to the list:

  {reason}

Your message is attached. If you think this is a mistake, write to the list's
owners at {owner}.
""")),
    "reply": MailText(
        N_("Results of your commands"),
        N_("""Hello,

This is what was done with the commands in your mail:

{results}

To get the list of commands, send a mail with HELP to {request}.
""")),
    "subscription_refused": MailText(
        N_("Your subscription to {list} was not approved"),
        N_("""Hello,

The owners of {list} did not approve the subscription of {address}.

To ask them why, write to {owner}.
""")),
    "welcome": MailText(
        N_("Welcome to {list}"),
        N_("""Hello {who},

You are now subscribed to the list {list} with the address {address}.

{subject}

{posting}
To leave the list, send a mail to {leave},
or the command "SIGNOFF {list}" to {request}.
""")),
}
