"""Settings (and the DKIM private key) → findings, without the network.

What a receiver checks first and what the sample leaves behind: placeholder values anywhere a send
uses, the From, DKIM `d=` and Return-Path domains aligned (relaxed DMARC alignment), the
unsubscribe and archive links on https and on the sender's own domain, a DKIM key that loads and is
long enough, and the footer fields Korean law requires of advertising email (정보통신망법 제50조).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from webzine.config import Settings
from webzine.domain.findings import Finding, failed, passed, warned
from webzine.domain.names import aligned, domain_of, organisational_domain, placeholder_in
from webzine.message.dkim import pem_bytes
from webzine.message.factory import return_path, unsubscribe_base
from webzine.recipients.addresses import PROVIDERS as MAILBOX_PROVIDERS

# Transports whose provider signs with its own DKIM key for the domain set up in its dashboard.
PROVIDERS_SIGNING = frozenset({"sendgrid", "postmark", "mailgun", "ses"})
MINIMUM_KEY_BITS = 1024  # RFC 8301: receivers must not accept less
ADVISED_KEY_BITS = 2048  # RFC 8301 §3.2: signers SHOULD use at least 2048


@dataclass(frozen=True)
class DkimKey:
    """The private key's public half, for comparing with the selector's DNS record."""

    public: rsa.RSAPublicKey | None
    finding: Finding


def from_domain(settings: Settings) -> str:
    """The From header's domain, or "" when `[publication] sender` has no address."""
    address = parseaddr(settings.publication.sender)[1]
    return address.rpartition("@")[2].lower() if "@" in address else ""


def signing_domain(settings: Settings) -> str:
    """The DKIM `d=` this configuration signs with, or "" when webzine does not sign."""
    if settings.dkim.domain and settings.dkim.selector:
        return settings.dkim.domain.lower()
    if settings.send.transport == "mailgun":
        return settings.mailgun.domain.lower()
    return ""


def fields_a_send_uses(settings: Settings) -> list[tuple[str, str]]:
    """(`[section] key`, value) for every setting that ends up in a sent message or its envelope."""
    publication, send = settings.publication, settings.send
    fields = [
        ("[publication] sender", publication.sender), ("[publication] reply_to", publication.reply_to),
        ("[publication] email", publication.email), ("[publication] base_url", publication.base_url),
        ("[publication] list_id", publication.list_id), ("[publication] postal_address", publication.postal_address),
        ("[publication] phone", publication.phone), ("[dkim] domain", settings.dkim.domain),
        ("[send] return_path", send.return_path), ("[send] feedback_id", send.feedback_id),
        ("[unsubscribe] base_url", settings.unsubscribe.base_url), ("[unsubscribe] mailto", settings.unsubscribe.mailto),
    ]  # fmt: skip
    if send.transport == "smtp":
        fields += [("[smtp] host", settings.smtp.host), ("[smtp] helo", settings.smtp.helo)]
    if send.transport == "mailgun":
        fields.append(("[mailgun] domain", settings.mailgun.domain))
    return [(name, value) for name, value in fields if value]


def check_placeholders(settings: Settings) -> list[Finding]:
    found = [failed("placeholders", "placeholder", field=name, value=value, placeholder=placeholder)
             for name, value in fields_a_send_uses(settings) if (placeholder := placeholder_in(value))]
    return found or [passed("placeholders", "no_placeholders")]


def check_alignment(settings: Settings) -> list[Finding]:
    """DKIM `d=` and the Return-Path (SPF's domain) against From, as DMARC compares them."""
    sender = from_domain(settings)
    if not sender:
        return [failed("from_domain", "sender_unreadable", value=settings.publication.sender)]
    if organisational_domain(sender) in MAILBOX_PROVIDERS:
        findings = [failed("from_domain", "mailbox_provider_from", from_domain=sender)]
    else:
        findings = [passed("from_domain", "own_from", from_domain=sender)]
    signer = signing_domain(settings)
    if signer:
        findings.append(_aligned("dkim_alignment", "DKIM d=", signer, sender))
    elif settings.send.transport in PROVIDERS_SIGNING:
        findings.append(passed("dkim_alignment", "dkim_by_provider", provider=settings.send.transport,
                               from_domain=sender))
    else:
        findings.append(warned("dkim_alignment", "dkim_not_configured", from_domain=sender))
    findings.append(_aligned("return_path_alignment", "Return-Path", domain_of(return_path(settings)), sender))
    return findings


def _aligned(check: str, what: str, domain: str, sender: str) -> Finding:
    values = {"what": what, "domain": domain, "from_domain": sender, "organisation": organisational_domain(sender)}
    return passed(check, "aligned", **values) if aligned(domain, sender) else failed(check, "misaligned", **values)


def check_links(settings: Settings) -> list[Finding]:
    """Every link a message carries to the sender's own servers: https, on the sender's domain. The
    feedback links are served by `webzine serve` beside the unsubscribe link, so one finding covers both."""
    sender = from_domain(settings)
    links = [("[unsubscribe] base_url", unsubscribe_base(settings), "unsubscribe_url"),
             ("[publication] base_url", settings.publication.base_url, "archive_url")]
    findings = []
    for field, url, check in links:
        if not url.lower().startswith("https://"):
            findings.append(failed(check, "not_https", field=field, url=url))
        elif sender and not aligned(domain_of(url), sender):
            findings.append(warned(check, "other_domain", field=field, url=url, from_domain=sender))
        else:
            findings.append(passed(check, "link_ok", field=field, url=url))
    mailto = settings.unsubscribe.mailto
    if mailto and sender and not aligned(domain_of(mailto), sender):
        findings.append(warned("unsubscribe_mailto", "other_domain", field="[unsubscribe] mailto", url=mailto,
                               from_domain=sender))
    return findings


def check_dkim_key(settings: Settings, pem: str | None) -> DkimKey:
    """Whether the private key webzine signs with loads, is RSA and is long enough."""
    env = settings.dkim.private_key_env
    if not (settings.dkim.domain and settings.dkim.selector):
        return DkimKey(None, passed("dkim_key", "dkim_key_unused"))
    if not pem:
        return DkimKey(None, failed("dkim_key", "dkim_key_missing", env=env))
    try:
        key = serialization.load_pem_private_key(pem_bytes(pem), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm, UnicodeEncodeError):
        return DkimKey(None, failed("dkim_key", "dkim_key_unreadable", env=env))
    if not isinstance(key, rsa.RSAPrivateKey):
        return DkimKey(None, failed("dkim_key", "dkim_key_not_rsa", env=env))
    bits = str(key.key_size)
    if key.key_size < MINIMUM_KEY_BITS:
        return DkimKey(None, failed("dkim_key", "dkim_key_too_small", bits=bits))
    if key.key_size < ADVISED_KEY_BITS:
        return DkimKey(key.public_key(), warned("dkim_key", "dkim_key_small", bits=bits))
    return DkimKey(key.public_key(), passed("dkim_key", "dkim_key_ok", bits=bits))


def check_footer(settings: Settings) -> list[Finding]:
    """The sender's name, postal address, phone and contact address every issue's footer shows."""
    publication = settings.publication
    required = {"[publication] sender": parseaddr(publication.sender)[0] or publication.name,
                "[publication] postal_address": publication.postal_address,
                "[publication] phone": publication.phone, "[publication] email": publication.contact_email}
    missing = [failed("footer", "footer_missing", field=field) for field, value in required.items() if not value.strip()]
    return missing or [passed("footer", "footer_ok")]


def offline_checks(settings: Settings, dkim_key: DkimKey) -> list[Finding]:
    """Every check that needs no network, in the order they are shown (`check_dkim_key` gives `dkim_key`)."""
    return [*check_placeholders(settings), *check_alignment(settings), *check_links(settings), dkim_key.finding,
            *check_footer(settings)]
