"""DNS → findings: what receivers look up before they trust a message from this domain.

SPF at the Return-Path domain (the envelope sender SPF checks, RFC 7208 §2.4), the DKIM selector's
public key against the private key webzine signs with, the DMARC record at the From domain or its
organisational domain (RFC 7489 §6.6.3), and an MX or address for the Return-Path domain so that
bounces can come back. Then the Gmail/Yahoo/Naver bulk-sender requirements as a checklist, each
row decided by the findings above or marked for a person to check where DNS cannot tell.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from webzine.config import Settings
from webzine.domain.findings import Finding, Reported, Status, failed, passed, warned
from webzine.domain.names import domain_of, organisational_domain
from webzine.domain.offline import from_domain
from webzine.domain.spf import LOOKUP_LIMIT, Resolver, read_spf
from webzine.message.factory import return_path

# The include each provider documents for the customer's SPF record.
PROVIDER_SPF = {"sendgrid": "sendgrid.net", "mailgun": "mailgun.org", "postmark": "spf.mtasv.net",
                "ses": "amazonses.com"}
DMARC_POLICIES = ("none", "quarantine", "reject")
_SEVERITY = [Status.PASS, Status.WARN, Status.FAIL]


def tags(record: str) -> dict[str, str]:
    """`v=DKIM1; k=rsa; p=MIIB…` → {"v": "DKIM1", "k": "rsa", "p": "MIIB…"} (DKIM and DMARC tag lists)."""
    found = {}
    for part in record.split(";"):
        name, equals, value = part.partition("=")
        if equals:
            found[name.strip().lower()] = "".join(value.split())
    return found


def check_spf(settings: Settings, dns: Resolver) -> list[Finding]:
    domain = domain_of(return_path(settings))
    tree = read_spf(domain, dns)
    if tree.records == 0:
        return [failed("spf", "spf_missing", domain=domain)]
    if tree.records > 1:
        return [failed("spf", "spf_multiple", domain=domain)]
    findings = [failed("spf", "spf_include_missing", domain=domain, include=name) for name in tree.broken]
    if tree.lookups > LOOKUP_LIMIT:
        findings.append(failed("spf", "spf_too_many_lookups", domain=domain, count=str(tree.lookups)))
    transport = settings.send.transport
    if transport in PROVIDER_SPF and PROVIDER_SPF[transport] not in tree.included:
        findings.append(failed("spf", "spf_not_covering_provider", domain=domain, provider=transport,
                               include=PROVIDER_SPF[transport]))
    elif transport == "smtp":
        host = settings.smtp.host
        addresses = [host] if _is_address(host) else list(dns.addresses(host))
        if not addresses:
            findings.append(warned("spf", "spf_host_unresolved", host=host))
        uncovered = [address for address in addresses if not tree.covers(address)]
        if uncovered:
            findings.append(failed("spf", "spf_not_covering_host", domain=domain, host=host, address=uncovered[0]))
    return findings or [passed("spf", "spf_ok", domain=domain, count=str(tree.lookups))]


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def check_dkim_record(settings: Settings, dns: Resolver, public_key: rsa.RSAPublicKey | None) -> Finding | None:
    """The selector's published key against ours; None when webzine does not sign."""
    config = settings.dkim
    if not (config.domain and config.selector):
        return None
    name = f"{config.selector}._domainkey.{config.domain}".lower()
    if public_key is None:
        return warned("dkim_record", "dkim_record_skipped", name=name)
    records = [tags(text) for text in dns.txt(name) if "p=" in text]
    if not records:
        return failed("dkim_record", "dkim_record_missing", name=name)
    published = records[0]["p"]
    if not published:
        return failed("dkim_record", "dkim_record_revoked", name=name)
    try:
        key = serialization.load_der_public_key(base64.b64decode(published, validate=True))
    except (ValueError, binascii.Error):
        return failed("dkim_record", "dkim_record_unreadable", name=name)
    if not isinstance(key, rsa.RSAPublicKey) or key.public_numbers() != public_key.public_numbers():
        return failed("dkim_record", "dkim_record_mismatch", name=name)
    return passed("dkim_record", "dkim_record_ok", name=name)


def check_dmarc(settings: Settings, dns: Resolver) -> Finding:
    """The From domain's DMARC record, else its organisational domain's (whose `sp=` then applies)."""
    sender = from_domain(settings)
    for domain in dict.fromkeys((sender, organisational_domain(sender))):
        name = f"_dmarc.{domain}"
        records = [tags(text) for text in dns.txt(name) if text.replace(" ", "").lower().startswith("v=dmarc1")]
        if len(records) > 1:
            return failed("dmarc", "dmarc_multiple", name=name)
        if records:
            policy = (records[0].get("sp") if domain != sender else None) or records[0].get("p", "")
            if policy.lower() not in DMARC_POLICIES:
                return failed("dmarc", "dmarc_no_policy", name=name)
            return passed("dmarc", "dmarc_ok", name=name, policy=policy.lower())
    return failed("dmarc", "dmarc_missing", domain=sender)


def check_return_path_domain(settings: Settings, dns: Resolver) -> Finding:
    domain = domain_of(return_path(settings))
    exchanges = dns.mx(domain)
    if exchanges == ("",):
        return failed("return_path_domain", "return_path_null_mx", domain=domain)
    if exchanges or dns.addresses(domain):
        return passed("return_path_domain", "return_path_ok", domain=domain)
    return failed("return_path_domain", "return_path_unreachable", domain=domain)


def online_checks(settings: Settings, dns: Resolver, public_key: rsa.RSAPublicKey | None) -> list[Finding]:
    dkim = check_dkim_record(settings, dns, public_key)
    return [*check_spf(settings, dns), *([dkim] if dkim else []), check_dmarc(settings, dns),
            check_return_path_domain(settings, dns)]


@dataclass(frozen=True)
class Requirement:
    """One row of the bulk-sender checklist; `status` None means a person has to look."""

    key: str  # texts.MESSAGES key of the requirement, and of its to-do as key + "_todo"
    receivers: str
    status: Status | None


def bulk_sender_checklist(settings: Settings, findings: list[Reported]) -> list[Requirement]:
    """Gmail's and Yahoo's sender requirements (since February 2024) and Naver's (since July 2024)."""
    worst: dict[str, Status] = {}
    for finding in sorted(findings, key=lambda finding: _SEVERITY.index(finding.status)):
        worst[finding.check] = finding.status  # the most severe finding of each check is written last

    def ok(*checks: str) -> bool:
        return all(worst.get(check) is Status.PASS for check in checks)

    def status(condition: bool) -> Status:
        return Status.PASS if condition else Status.FAIL

    provider_signs = "dkim_record" not in worst and worst.get("dkim_alignment") is Status.PASS
    transport = settings.send.transport
    return [
        Requirement("req_spf", "Gmail · Yahoo · Naver", status(ok("spf"))),
        Requirement("req_dkim", "Gmail · Yahoo · Naver", None if provider_signs else status(ok("dkim_record"))),
        Requirement("req_dmarc", "Gmail · Yahoo · Naver", status(ok("dmarc"))),
        Requirement("req_alignment", "Gmail · Yahoo", status(ok("from_domain") and (
            ok("return_path_alignment", "spf") or ok("dkim_alignment", "dkim_record") or provider_signs))),
        Requirement("req_one_click", "Gmail · Yahoo", status(worst.get("unsubscribe_url") is not Status.FAIL)),
        Requirement("req_tls", "Gmail", None if transport == "outbox" else
                    status(transport != "smtp" or settings.smtp.security != "none")),
        Requirement("req_ptr", "Gmail · Naver", None),
        Requirement("req_spam_rate", "Gmail · Yahoo", None),
    ]
