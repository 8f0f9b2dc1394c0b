"""What `listd serve` says at start about its configuration: things a newcomer would miss.

Each notice is one plain sentence with the fix; none stops the daemon.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from listd.config import Config
from listd.deliverability import doctor
from listd.deliverability.dkim_keys import active_key, dns_record, public_key_base64
from listd.deliverability.resolver import make_resolver
from listd.lists import served_domains


def config_notices(config: Config) -> list[str]:
    notices = []
    base_url = config.http.base_url
    if base_url and not base_url.lower().startswith("https://"):
        notices.append(f"http.base_url is {base_url}: one-click unsubscribe (RFC 8058) needs "
                       "https, so list mail carries only the mailto: link; give an https:// "
                       f"URL in {config.source}")
    if not config.dkim.sign:
        notices.append(f"dkim.sign is false in {config.source}: list mail goes out unsigned")
    return notices


def dkim_notices(session: Session, config: Config) -> list[str]:
    """For each served domain whose mail receivers cannot check yet: why, and the fix."""
    if not config.dkim.sign:
        return []
    resolver = make_resolver(config.dns)
    notices = []
    for domain in sorted(served_domains(session, config)):
        key = active_key(session, domain)
        view = (doctor.DkimKeyView(key.selector, key.algorithm, dns_record(key),
                                   public_key_base64(key.private_key))
                if key is not None else None)
        finding = doctor.check_dkim(resolver, domain, view)
        if finding.status is not doctor.Status.OK:
            notices.append(f"DKIM for {domain}: {finding.summary}; fix: {finding.fix}")
    return notices
