"""The configuration: one YAML file, single keys overridable by LISTD_* environment variables.

Every key is declared here with its default, so the schema is documented in one place and a
misspelled key is reported by name (with the file) instead of being silently ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

ENV_PREFIX = "LISTD_"
DEFAULT_CONFIG = Path("conf/listd.yaml")


class ConfigError(Exception):
    """A configuration problem the admin can fix; the message names the key and the file."""


@dataclass(frozen=True)
class SmtpInConfig:
    host: str = "127.0.0.1"
    port: int = 2525
    lmtp: bool = False
    max_message_size: int = 10 * 1024 * 1024
    # Postfix refuses a client's 1001st RCPT the same way; a post needs far fewer.
    max_recipients: int = 1000
    # Seconds a client may stay silent in the middle of a session.
    timeout: int = 300
    # The structure one message may have, checked at DATA (refused with 554 5.6.0 past it):
    # real mail nests a few levels and has tens of parts and headers; past these it costs
    # more to parse than any reader gains, and the email package recurses once per level.
    max_mime_depth: int = 32
    max_mime_parts: int = 1000
    max_header_count: int = 500


@dataclass(frozen=True)
class QuotaConfig:
    """Sending caps, as hosting providers impose them; 0 means no cap.

    The minute, hour and day caps count what every listd process sharing the database sent,
    so they hold across processes and restarts. Mail over a cap waits in the queue, it never
    fails for it.
    """

    # Messages per second one process hands to the relay, spread evenly (a token bucket).
    rate: int = 0
    per_minute: int = 0
    per_hour: int = 0
    per_day: int = 0


class DomainQuotas(dict[str, int]):
    """`outbound.domain_quotas`: recipient domain (lower case, A-labels) -> recipients per hour,
    and DEFAULT for every other domain; 0 means no limit. Checked when the file is read."""

    DEFAULT = "default"

    def quota_of(self, domain: str) -> int:
        return self.get(domain, self.get(self.DEFAULT, 0))


@dataclass(frozen=True)
class SmtpTimeouts:
    """Seconds listd waits for the relay, per phase: RFC 5321 section 4.5.3.2's minimums."""

    # TCP connect and the 220 greeting.
    greeting: float = 300.0
    # EHLO, STARTTLS, AUTH, RSET: the RFC names none; MAIL's value.
    command: float = 300.0
    mail: float = 300.0
    rcpt: float = 300.0
    # The reply to DATA (354).
    data: float = 120.0
    # Each send of message data the relay does not take in.
    data_block: float = 180.0
    # The reply after the final dot: the relay may be delivering or scanning.
    data_end: float = 600.0


@dataclass(frozen=True)
class OutboundConfig:
    # "maildir" writes every outgoing mail to a local Maildir: the default without a relay.
    mode: Literal["smtp", "maildir"] = "maildir"
    host: str = "127.0.0.1"
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    connections: int = 10
    # A CA bundle (PEM) to verify the relay's STARTTLS certificate with; default: the system's.
    tls_ca_file: str | None = None
    # The name listd gives in EHLO; default: this host's FQDN, looked up once, off the loop.
    helo_name: str | None = None
    # A relay connection unused for longer is closed before the next message (Postfix drops
    # idle clients after 300 s); a connection the relay closed anyway is reopened at once.
    idle_timeout: float = 240.0
    timeouts: SmtpTimeouts = field(default_factory=SmtpTimeouts)
    path: str = "var/outbox"
    # Temporary failures are retried with exponential back-off until this many seconds.
    give_up_after: int = 5 * 24 * 3600
    # At most this many relay connections at once carry mail for one recipient domain
    # (0: no limit).
    per_domain_connections: int = 20
    # Recipients claimed (and recorded) per database transaction; also bounds the duplicates a
    # crash can cause, since only claimed rows can have been sent without being recorded.
    batch_size: int = 500
    # Seconds a claim on a queue row holds without being renewed; a sender renews its
    # process's claims (and checks it still holds the rows) before a chunk once a quarter of
    # this has passed, so only a process that stopped working loses its rows to the lease.
    claim_lease: float = 600.0
    # Every process writes a heartbeat this often (seconds) …
    heartbeat: float = 2.0
    # … and takes back the rows claimed by a process whose heartbeat is older than this.
    takeover_after: float = 15.0
    quota: QuotaConfig = field(default_factory=QuotaConfig)
    # Processes of `listd serve` that deliver, each with its own share of `connections`
    # (and of `per_domain_connections` and `quota.rate`) claiming from the shared queue;
    # null (the default): one per core; 1: the daemon's own process only.
    delivery_processes: int | None = None
    # Processes that make per-recipient DKIM signatures (one-click unsubscribe with DKIM on),
    # started on first use, for each delivery process; null: one per core when listd
    # delivers from one process, else none (each delivery process signs in its own thread:
    # that already puts RSA on every core); 0: sign in the delivery process itself.
    signing_workers: int | None = None
    # Recipients per hour for one recipient domain ({gmail.com: 2000}), counted across every
    # process; `default` applies to the domains not named (0, the default: no limit).
    domain_quotas: DomainQuotas = field(default_factory=lambda: DomainQuotas({}))


@dataclass(frozen=True)
class RetentionConfig:
    """Days each kind of record is kept once it is finished with; 0 keeps it for ever.

    The `retention` job of `listd serve` deletes what is older (hourly). Before delivered queue
    rows go, their counts are added to the message's delivery summary, so nothing a report
    needs is lost.
    """

    # Queue rows that reached an outcome (sent, or failed for good), by their creation.
    delivered: int = 7
    # Raw received messages whose processing is done and that no held post needs.
    inbound: int = 30
    audit: int = 365
    bounce_events: int = 365


@dataclass(frozen=True)
class HttpConfig:
    # The web endpoint (one-click unsubscribe) served by `listd serve`; port 0 picks a free one.
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8080
    # Public URL of this endpoint, as recipients reach it (behind a reverse proxy); without it,
    # list mail carries only the mailto: unsubscribe link.
    base_url: str | None = None


@dataclass(frozen=True)
class DnsConfig:
    # The resolvers listd asks (DMARC, DKIM and SPF checks, `listd doctor`); empty means the
    # system's resolvers from /etc/resolv.conf.
    nameservers: tuple[str, ...] = ()
    port: int = 53
    # Seconds for one lookup in all: a slow DNS must not hold up a post for long.
    timeout: float = 2.0


@dataclass(frozen=True)
class ProcessingConfig:
    # Inbound messages worked on at once. Parsing, DNS checks and rendering run in this many
    # threads outside the database writer, so one slow message never holds up the others;
    # the short write that ends each message is serialized on SQLite, concurrent on PostgreSQL.
    workers: int = 8
    # Seconds one message may cost before it is given up as failed (visible as shunted after
    # its retries): parsing, DNS checks and rendering together.
    time_budget: float = 30.0
    # Seconds the DNS checks of one message (DKIM, SPF, DMARC policy) may take in all.
    dns_budget: float = 8.0


@dataclass(frozen=True)
class DmarcConfig:
    # Mitigate (as the list's dmarc_mitigation says) every post, whatever its domain publishes.
    always: bool = False
    # Poster domains always mitigated, for providers that reject forwarded mail without p=reject.
    always_domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class DkimConfig:
    # Sign list mail with the domain's active key (`listd dkim keygen`), when it has one.
    sign: bool = True
    # Selector `listd dkim keygen` uses when none is given.
    selector: str = "listd"


@dataclass(frozen=True)
class ArcConfig:
    # List domains whose forwarded posts get an ARC set (RFC 8617), sealed with their DKIM key.
    domains: tuple[str, ...] = ()
    # The authserv-id listd writes in its own Authentication-Results; default: the list domain.
    authserv_id: str | None = None


@dataclass(frozen=True)
class AuthenticationConfig:
    # authserv-ids of the local MTA whose Authentication-Results header listd believes instead
    # of checking DKIM, SPF and DMARC itself. The MTA must remove such headers from mail it
    # receives, or anyone could forge them.
    trusted_authserv_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class DoctorConfig:
    # Public addresses the relay sends from, for the SPF and reverse-DNS checks of `listd doctor`
    # (the relay itself is often the local MTA at 127.0.0.1).
    relay_addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    database: str = "sqlite:///var/listd.db"
    domains: tuple[str, ...] = ()
    listmasters: tuple[str, ...] = ()
    robot: str = "listd"
    # Token signing key; when absent one is generated on first use and kept in the database,
    # so every listd process sharing that database signs alike.
    secret: str | None = None
    language: Literal["en", "fr"] = "en"
    # Days a confirmation token stays valid.
    token_ttl_days: int = 3
    # Mails the command robot sends one address per hour at most (replies, confirmations,
    # welcomes); past it, that address's command mail is kept but not answered.
    robot_mails_per_hour: int = 30
    # Directory of list templates (newsletter, discussion, …); relative to the config file.
    list_templates: str | None = None
    smtp_in: SmtpInConfig = field(default_factory=SmtpInConfig)
    outbound: OutboundConfig = field(default_factory=OutboundConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    dns: DnsConfig = field(default_factory=DnsConfig)
    processing: ProcessingConfig = field(default_factory=ProcessingConfig)
    dmarc: DmarcConfig = field(default_factory=DmarcConfig)
    dkim: DkimConfig = field(default_factory=DkimConfig)
    arc: ArcConfig = field(default_factory=ArcConfig)
    authentication: AuthenticationConfig = field(default_factory=AuthenticationConfig)
    doctor: DoctorConfig = field(default_factory=DoctorConfig)
    # Where the file was read from, for messages and for resolving relative paths.
    source: str = "(defaults)"

    @property
    def list_templates_dir(self) -> Path:
        if self.list_templates:
            base = Path(self.source).parent if self.source != "(defaults)" else Path.cwd()
            return base / self.list_templates
        return BUILTIN_LIST_TEMPLATES

    def serves(self, domain: str) -> bool:
        return domain.lower() in self.domains


# The templates that ship in the package (newsletter, discussion, moderated, private).
BUILTIN_LIST_TEMPLATES = Path(__file__).resolve().parent / "list-templates"


def load_config(path: str | os.PathLike[str] | None = None,
                environ: Mapping[str, str] | None = None) -> Config:
    """Read the config file named by PATH, else $LISTD_CONFIG, else conf/listd.yaml if present."""
    env = os.environ if environ is None else environ
    chosen = Path(path) if path else Path(env["LISTD_CONFIG"]) if env.get("LISTD_CONFIG") else None
    if chosen is None and DEFAULT_CONFIG.exists():
        chosen = DEFAULT_CONFIG
    data: dict[str, Any] = {}
    source = "(defaults)"
    if chosen is not None:
        source = str(chosen)
        data = _read_yaml(chosen)
    for key, raw in sorted(env.items()):
        if key.startswith(ENV_PREFIX) and key != "LISTD_CONFIG" and not key.startswith(
                "LISTD_TEST_"):
            _apply_env(data, key, raw)
    data["source"] = source
    return _build(Config, data, prefix="", source=source)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    return data


def _apply_env(data: dict[str, Any], key: str, raw: str) -> None:
    # LISTD_SMTP_IN__PORT=2526 sets smtp_in.port; the value is read as YAML so "true", "25"
    # and "[a, b]" get their natural types.
    path = key[len(ENV_PREFIX):].lower().split("__")
    _check_env_path(key, path)
    target = data
    for part in path[:-1]:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise ConfigError(f"environment variable {key}: {part} is not a section")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    target[path[-1]] = value


def _check_env_path(key: str, path: list[str]) -> None:
    """A misspelt variable is named as such, not as an unknown key of the config file."""
    section: Any = Config
    for depth, part in enumerate(path):
        if not dataclasses.is_dataclass(section):
            return  # a free-form value (a mapping) below a known key: checked when built
        names = [f.name for f in dataclasses.fields(section) if f.name != "source"]
        if part not in names:
            near = difflib.get_close_matches(part, names, n=1)
            spelt = "__".join([*path[:depth], near[0]]).upper() if near else ""
            hint = f" (did you mean {ENV_PREFIX}{spelt}?)" if near else ""
            raise ConfigError(f"environment variable {key}: listd has no setting "
                              f"'{'.'.join(path[:depth + 1])}'{hint}")
        section = typing.get_type_hints(section)[part]


def _build(cls: type, data: Any, prefix: str, source: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: '{prefix.rstrip('.')}' must be a mapping")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for key in data:
        if key not in fields:
            near = difflib.get_close_matches(str(key), fields, n=1)
            hint = f" (did you mean '{prefix}{near[0]}'?)" if near else ""
            raise ConfigError(f"{source}: unknown key '{prefix}{key}'{hint}")
    values = {}
    for name, value in data.items():
        values[name] = _coerce(hints[name], value, f"{prefix}{name}", source)
    return cls(**values)


def _coerce(hint: Any, value: Any, key: str, source: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value if value is not None else {}, key + ".", source)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, key, source)
    if hint is DomainQuotas:
        return _domain_quotas(value, key, source)
    if origin is Literal:
        if value not in args:
            choices = ", ".join(map(str, args))
            raise ConfigError(f"{source}: '{key}' is {value!r}; expected one of {choices}")
        return value
    if origin is tuple:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ConfigError(f"{source}: '{key}' must be a list")
        return tuple(str(v).strip().lower() for v in value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: '{key}' must be true or false, not {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{source}: '{key}' must be a whole number, not {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{source}: '{key}' must be a number, not {value!r}")
        return float(value)
    if hint is str:
        if value is None or isinstance(value, (dict, list)):
            raise ConfigError(f"{source}: '{key}' must be a text value")
        return str(value)
    raise ConfigError(f"{source}: '{key}' has an unsupported type")  # pragma: no cover


# A domain as a recipient address ends: LDH labels (A-labels for internationalized names).
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


def _domain_quotas(value: Any, key: str, source: str) -> DomainQuotas:
    if value is None:
        return DomainQuotas({})
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: '{key}' must be a mapping of domain to recipients per "
                          f"hour, e.g. {{default: 0, gmail.com: 2000}}")
    quotas = DomainQuotas()
    for raw, count in value.items():
        domain = quota_domain(str(raw).strip())
        if domain != DomainQuotas.DEFAULT and not _DOMAIN.match(domain):
            raise ConfigError(f"{source}: '{key}' names {raw!r}, which is not a domain name "
                              f"(nor 'default')")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ConfigError(f"{source}: '{key}.{raw}' must be a whole number of recipients "
                              f"per hour, 0 or more (0: no limit), not {count!r}")
        if domain in quotas:
            raise ConfigError(f"{source}: '{key}' names the domain {domain} twice")
        quotas[domain] = count
    return quotas


def quota_domain(domain: str) -> str:
    """DOMAIN as `outbound.domain_quotas` keys it: lower case, IDNA A-labels."""
    domain = domain.lower().rstrip(".")
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain
