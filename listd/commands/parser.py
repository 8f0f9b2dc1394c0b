"""Reading commands out of a mail: pure, a message in and command lines out.

Commands are taken from the Subject (when its first word is a command) and from the body's
first text part, one per line, until a signature (`-- `), a line of dashes (Sympa's `-`),
quoted text, or QUIT/END. `QUIET command` runs the command without reporting it; a `QUIET`
line alone makes the whole mail quiet (Sympa: no results reply). HTML-only
mail is read through its text. Past MAX_LINES command lines the rest is counted, not read, so a
mail bomb costs a fixed amount of work.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection
from dataclasses import dataclass
from email.message import EmailMessage, MIMEPart
from html.parser import HTMLParser

from listd.bounce.message import PARSE_ERRORS

MAX_LINES = 100
# Only the start of a body is read: commands come first, and a huge body must cost no more.
MAX_BODY_CHARS = 64 * 1024
STOP_WORDS = frozenset({"quit", "end", "stop", "exit", "fin"})
QUIET = "quiet"
# A signature separator, or Sympa's stop line: `-`, `--`, `----`.
STOP_LINE = re.compile(r"-+|-- .*")
REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|fw|fwd|tr|réf|ref)\s*(\[\d+\])?\s*:\s*)+", re.I)
QUOTE_INTRO = re.compile(r"(wrote|a écrit|écrit)\s*:\s*$|^-+\s*original message\s*-+$", re.I)


@dataclass(frozen=True)
class CommandLine:
    """One line asking for one command, as written, split into a verb and its arguments."""

    text: str
    verb: str
    args: tuple[str, ...]
    # Prefixed with QUIET: carried out, left out of the reply.
    quiet: bool = False
    # For a command that takes the rest of the body as its text (TEXT): those lines.
    rest: str = ""


@dataclass(frozen=True)
class ParsedMail:
    commands: tuple[CommandLine, ...]
    # Lines after the first MAX_LINES that were not read.
    ignored_lines: int = 0
    # A QUIET line alone: nothing is reported.
    quiet: bool = False


def parse_line(text: str) -> CommandLine | None:
    words = text.split()
    if not words:
        return None
    quiet = words[0].lower() == QUIET and len(words) > 1
    if quiet:
        words = words[1:]
    return CommandLine(text=" ".join(words), verb=words[0].lower(), args=tuple(words[1:]),
                       quiet=quiet)


def split_options(args: tuple[str, ...]) -> tuple[tuple[str, ...], dict[str, str]]:
    """Mailman's `key=value` arguments apart from the others."""
    plain = tuple(arg for arg in args if "=" not in arg)
    options = {}
    for arg in args:
        if "=" in arg:
            key, _, value = arg.partition("=")
            options[key.lower()] = value
    return plain, options


# Commands whose text is the rest of the mail's body, up to a signature.
TAKES_THE_REST = frozenset({"text"})


def parse_message(message: EmailMessage, known_verbs: Collection[str],
                  max_lines: int = MAX_LINES) -> ParsedMail:
    """The commands in MESSAGE; the Subject counts only when it starts with a KNOWN_VERB."""
    found: list[CommandLine] = []
    subject = parse_line(REPLY_PREFIX.sub("", _header(message, "Subject")))
    if subject is not None and subject.verb in known_verbs:
        found.append(subject)
    else:
        subject = None
    ignored = 0
    quiet = False
    body = body_text(message)
    for number, line in enumerate(command_lines(body)):
        command = parse_line(line)
        if command is None:
            continue
        if command.verb in TAKES_THE_REST:
            found.append(dataclasses.replace(command, rest=rest_after(body, line)))
            break
        if command.verb == QUIET and not command.args:
            quiet = True
            continue
        if number == 0 and subject is not None and command.text.lower() == subject.text.lower():
            continue  # the same command in the Subject and the body's first line: once
        if len(found) >= max_lines:
            ignored += 1
            continue
        found.append(command)
    return ParsedMail(tuple(found), ignored, quiet)


def rest_after(body: str, line: str) -> str:
    """The body's lines after the first one that reads LINE, up to a signature."""
    lines = body[:MAX_BODY_CHARS].splitlines()
    start = next(i for i, raw in enumerate(lines) if raw.strip() == line) + 1
    rest = []
    for raw in lines[start:]:
        if raw.startswith("-- ") or raw.rstrip() == "--":
            break
        rest.append(raw)
    return "\n".join(rest).strip("\n")


def command_lines(text: str) -> list[str]:
    """The body's lines up to the first signature, quotation or QUIT/END, blank ones dropped."""
    lines = []
    for raw in text[:MAX_BODY_CHARS].splitlines():
        if STOP_LINE.fullmatch(raw.rstrip()):
            break
        line = raw.strip()
        if not line:
            continue
        if line.startswith(">") or QUOTE_INTRO.search(line):
            break
        if line.split()[0].lower() in STOP_WORDS:
            break
        lines.append(line)
    return lines


def body_text(message: EmailMessage) -> str:
    """The first plain-text part, else the first HTML part turned into text; '' if none."""
    try:
        part = message.get_body(preferencelist=("plain",))
        if part is not None and not _is_attachment(part):
            return _content(part)
        part = message.get_body(preferencelist=("html",))
        if part is not None and not _is_attachment(part):
            return html_to_text(_content(part))
    except PARSE_ERRORS:
        return ""
    return ""


def _is_attachment(part: MIMEPart) -> bool:
    return part.get_content_disposition() == "attachment"


def _content(part: MIMEPart) -> str:
    try:
        content = part.get_content()
    except PARSE_ERRORS:
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def _header(message: EmailMessage, name: str) -> str:
    try:
        return " ".join(str(message.get(name, "")).split())
    except PARSE_ERRORS:
        return ""


class _TextExtractor(HTMLParser):
    BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "blockquote",
                        "pre", "table", "ul", "ol"})
    HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.quoted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        if tag in self.BREAKS:
            self.parts.append("\n")
        if tag == "blockquote":
            # Quoted text stops the commands, as '>' does in plain text.
            self.parts.append("> ")
            self.quoted += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1
        if tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    try:
        extractor.feed(html[:MAX_BODY_CHARS])
        extractor.close()
    except PARSE_ERRORS:
        pass
    return "".join(extractor.parts)
