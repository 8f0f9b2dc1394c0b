"""The small HTML pages of the web endpoint, in English and French."""

from __future__ import annotations

from html import escape

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Unsubscribe",
        "confirm": "Unsubscribe {address} from {list}?",
        "button": "Unsubscribe",
        "done": "{address} is unsubscribed from {list}. You will receive no more mail from it.",
        "not_subscribed": "{address} is not subscribed to {list}: there is nothing to do.",
        "no_list": "This list does not exist any more: there is nothing to do.",
        "invalid": "This unsubscribe link is not valid. Nothing was changed. Use the link of "
                   "a recent message from the list, or write to the list's -leave address.",
        "bad_request": "This request is not understood. Nothing was changed.",
        "not_found": "There is no such page.",
        "error": "Something went wrong on our side. Nothing was changed; please try again later.",
    },
    "fr": {
        "title": "Désabonnement",
        "confirm": "Désabonner {address} de {list} ?",
        "button": "Me désabonner",
        "done": "{address} est désabonné de {list}. Vous n'en recevrez plus de messages.",
        "not_subscribed": "{address} n'est pas abonné à {list} : il n'y a rien à faire.",
        "no_list": "Cette liste n'existe plus : il n'y a rien à faire.",
        "invalid": "Ce lien de désabonnement n'est pas valable. Rien n'a été changé. Utilisez "
                   "le lien d'un message récent de la liste, ou écrivez à son adresse -leave.",
        "bad_request": "Cette requête n'est pas comprise. Rien n'a été changé.",
        "not_found": "Cette page n'existe pas.",
        "error": "Une erreur s'est produite chez nous. Rien n'a été changé ; réessayez plus tard.",
    },
}


def text(language: str, key: str, **values: str) -> str:
    table = TEXTS.get(language, TEXTS["en"])
    return table[key].format(**{k: escape(v) for k, v in values.items()})


def page(language: str, body: str) -> str:
    language = language if language in TEXTS else "en"
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
