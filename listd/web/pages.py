"""The small HTML pages of the web endpoint, their texts through the one catalog (i18n)."""

from __future__ import annotations

from html import escape

from listd.i18n import LANGUAGES, N_, SOURCE_LANGUAGE, translate

# Each page text by key, in English (the source); translations in the gettext catalog.
TEXTS: dict[str, str] = {
    "title": N_("Unsubscribe"),
    "confirm": N_("Unsubscribe {address} from {list}?"),
    "button": N_("Unsubscribe me"),
    "done": N_("{address} is unsubscribed from {list}. You will receive no more mail from it."),
    "not_subscribed": N_("{address} is not subscribed to {list}: there is nothing to do."),
    "no_list": N_("This list does not exist any more: there is nothing to do."),
    "invalid": N_("This unsubscribe link is not valid. Nothing was changed. Use the link of a "
                  "recent message from the list, or write to the list's -leave address."),
    "bad_request": N_("This request is not understood. Nothing was changed."),
    "not_found": N_("There is no such page."),
    "error": N_("Something went wrong on our side. Nothing was changed; please try again "
                "later."),
}


def text(language: str, key: str, **values: str) -> str:
    return translate(language, TEXTS[key], **{k: escape(v) for k, v in values.items()})


def page(language: str, body: str) -> str:
    language = language if language in LANGUAGES else SOURCE_LANGUAGE
    title = text(language, "title")
    return (f'<!doctype html>\n<html lang="{language}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="robots" content="noindex"><title>{title}</title></head>'
            f"<body><main>{body}</main></body></html>\n")


def message_page(language: str, key: str, **values: str) -> str:
    return page(language, f"<p>{text(language, key, **values)}</p>")


def confirm_page(language: str, address: str, list_address: str) -> str:
    question = text(language, "confirm", address=address, list=list_address)
    button = text(language, "button")
    # Posting to the same URL with the RFC 8058 body: the button does what a mail client's
    # one-click does, and nothing happens without it.
    form = ('<form method="post"><input type="hidden" name="List-Unsubscribe" '
            f'value="One-Click"><button type="submit">{button}</button></form>')
    return page(language, f"<p>{question}</p>{form}")
