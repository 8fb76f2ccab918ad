"""Every message `webzine check` (and the send gate) shows, by key, in English: the Korean is in the
domain catalog (`webzine/locale/ko/LC_MESSAGES/domain.po`).

A check's report follows its own language rule (`language_for`: `check --lang`, else the
publication's language), so these are looked up in that language, not the active one.
"""

from __future__ import annotations

from webzine.i18n import N_, in_language

LANGUAGES = ("ko", "en")

MESSAGES: dict[str, str] = {
    # -- offline -----------------------------------------------------------------------------------
    "placeholder": N_("{field} = {value!r} still holds a placeholder ({placeholder}); put your own value there."),
    "no_placeholders": N_("no example or placeholder values are left in the settings a send uses."),
    "sender_unreadable": N_("[publication] sender = {value!r} has no address; write it as 'Name "
        "<news@your-domain>'."),
    "mailbox_provider_from": N_("the From address is on {from_domain}, a mailbox provider's domain: its DMARC "
        "policy makes receivers reject or junk bulk mail sent from elsewhere; send from your own domain."),
    "own_from": N_("the From address is on your own domain, {from_domain}."),
    "dkim_by_provider": N_("{provider} signs with DKIM; authenticate {from_domain} in {provider}'s dashboard so "
        "that d= aligns."),
    "dkim_not_configured": N_("webzine does not sign (no [dkim] domain and selector); Gmail, Yahoo and Naver "
        "require DKIM for bulk mail — set [dkim] for {from_domain}, unless your relay signs for it."),
    "aligned": N_("{what} {domain} aligns with From ({from_domain}, organisational domain {organisation})."),
    "misaligned": N_("{what} {domain} does not align with From {from_domain} (organisational domain "
        "{organisation}): DMARC fails at Gmail and Naver; use a domain under {organisation}."),
    "not_https": N_("{field}: {url} is not https; receivers and readers distrust plain http links — serve it over "
        "https."),
    "other_domain": N_("{field}: {url} is not under your From domain {from_domain}; make sure you control that "
        "domain."),
    "link_ok": N_("{field}: {url} is https on your own domain."),
    "dkim_key_unused": N_("no [dkim] domain and selector, so no private key is needed."),
    "dkim_key_missing": N_("the DKIM private key is not set: put the PEM in the environment variable {env} (a CI "
        "secret)."),
    "dkim_key_unreadable": N_("the DKIM private key in {env} cannot be read; it must be an unencrypted PEM private "
        "key."),
    "dkim_key_not_rsa": N_("the DKIM private key in {env} is not an RSA key; generate one: openssl genrsa 2048."),
    "dkim_key_too_small": N_("the DKIM key has {bits} bits; receivers ignore keys under 1024 bits — generate a "
        "2048-bit key."),
    "dkim_key_small": N_("the DKIM key has {bits} bits; it works, but 2048 bits is the advised size — plan to "
        "rotate it."),
    "dkim_key_ok": N_("the DKIM private key loads ({bits}-bit RSA)."),
    "footer_missing": N_("{field} is empty; the footer must show the sender's name, postal address, phone and "
        "email (정보통신망법 제50조)."),
    "footer_ok": N_("the footer has the sender's name, postal address, phone and email."),
    # -- online ------------------------------------------------------------------------------------
    "spf_missing": N_("{domain} has no SPF record; publish a TXT record \"v=spf1 … -all\" naming your mail server "
        "or provider."),
    "spf_multiple": N_("{domain} has more than one SPF record, which receivers treat as an error; merge them into "
        "one."),
    "spf_include_missing": N_("the SPF record of {domain} names {include}, which has no SPF record (permerror); "
        "fix or remove it."),
    "spf_too_many_lookups": N_("the SPF record of {domain} needs {count} DNS lookups; receivers stop at 10 and "
        "fail SPF — remove includes you no longer use or replace them with ip4:/ip6: ranges."),
    "spf_not_covering_provider": N_("the SPF record of {domain} does not include {include}, so mail sent through "
        "{provider} fails SPF; add include:{include}."),
    "spf_host_unresolved": N_("the SMTP host {host} has no address in DNS, so SPF coverage cannot be checked."),
    "spf_not_covering_host": N_("the SPF record of {domain} does not authorise the SMTP host {host} ({address}); "
        "add ip4:/ip6: for it or the include your mail provider documents."),
    "spf_ok": N_("SPF at {domain} is present and authorises the sending host ({count} DNS lookups of 10)."),
    "dkim_record_skipped": N_("{name} was not compared: the private key could not be loaded (see above)."),
    "dkim_record_missing": N_("{name} has no DKIM key in DNS; publish a TXT record \"v=DKIM1; k=rsa; p=…\" with "
        "the public key."),
    "dkim_record_revoked": N_("{name} publishes an empty key (revoked); publish the public key of the key you sign "
        "with."),
    "dkim_record_unreadable": N_("{name} publishes a key that cannot be read; copy the public key again (base64, "
        "one line)."),
    "dkim_record_mismatch": N_("{name} publishes a different public key than the private key webzine signs with: "
        "every signature fails; publish the matching key or sign with the published one."),
    "dkim_record_ok": N_("{name} publishes the public key of the private key webzine signs with."),
    "dmarc_missing": N_("{domain} has no DMARC record; publish _dmarc.{domain} TXT \"v=DMARC1; p=none; "
        "rua=mailto:…\" (Gmail, Yahoo and Naver require one for bulk mail)."),
    "dmarc_multiple": N_("{name} has more than one DMARC record, so receivers apply none; keep one."),
    "dmarc_no_policy": N_("{name} has no valid p= policy; write p=none, p=quarantine or p=reject."),
    "dmarc_ok": N_("DMARC at {name} with policy p={policy}."),
    "return_path_null_mx": N_("the Return-Path domain {domain} declares that it accepts no mail (null MX), so "
        "bounces are lost; use a domain that receives mail."),
    "return_path_unreachable": N_("the Return-Path domain {domain} has no MX or address record: bounces cannot "
        "come back and some receivers refuse the mail; add an MX record."),
    "return_path_ok": N_("the Return-Path domain {domain} receives mail (bounces come back)."),
    # -- the bulk-sender checklist -----------------------------------------------------------------
    "checklist_title": N_("Bulk-sender requirements"),
    "col_requirement": N_("requirement"),
    "col_receivers": N_("required by"),
    "col_result": N_("result"),
    "col_todo": N_("what to do"),
    "req_spf": N_("SPF record covering the sending server"),
    "req_spf_todo": N_("see the SPF line above"),
    "req_dkim": N_("DKIM signature with a published key"),
    "req_dkim_todo": N_("set [dkim] and publish its key; with a provider, authenticate the domain there"),
    "req_dmarc": N_("DMARC record (p=none is enough)"),
    "req_dmarc_todo": N_("publish _dmarc TXT \"v=DMARC1; p=none; rua=mailto:…\""),
    "req_alignment": N_("From aligned with the SPF or DKIM domain"),
    "req_alignment_todo": N_("send From your own domain and sign/bounce under it"),
    "req_one_click": N_("one-click unsubscribe (RFC 8058) and a visible link"),
    "req_one_click_todo": N_("set [unsubscribe] base_url to https on your domain and run webzine serve there"),
    "req_tls": N_("TLS to the receiving servers"),
    "req_tls_todo": N_("set [smtp] security to starttls or tls"),
    "req_ptr": N_("reverse DNS (PTR) for the sending IP"),
    "req_ptr_todo": N_("ask the server's hosting company; a provider does this for you"),
    "req_spam_rate": N_("spam complaints under 0.3% (aim for 0.1%)"),
    "req_spam_rate_todo": N_("watch Google Postmaster Tools and Yahoo's Sender Hub"),
    "manual": N_("check by hand"),
    # -- the command's own lines -------------------------------------------------------------------
    "all_passed": N_("all checks passed."),
    "some_failed": N_("{count} check(s) failed; fix them before a real send."),
    "gate_failed": N_("{count} pre-flight check(s) failed for the {transport} transport; nothing was sent."),
    "gate_hint": N_("run webzine check (and webzine check --dns) and fix webzine.toml."),
    "gate_rehearsal": N_("pre-flight: {count} check(s) would stop a real send (webzine check shows them)."),
}

# The checks' names as shown in front of each line.
CHECKS: dict[str, str] = {
    "placeholders": N_("placeholders"),
    "from_domain": N_("From domain"),
    "dkim_alignment": N_("DKIM alignment"),
    "return_path_alignment": N_("Return-Path alignment"),
    "unsubscribe_url": N_("unsubscribe and feedback links"),
    "archive_url": N_("web archive link"),
    "unsubscribe_mailto": N_("unsubscribe mailto"),
    "dkim_key": N_("DKIM key"),
    "footer": N_("footer"),
    "spf": N_("SPF"),
    "dkim_record": N_("DKIM record"),
    "dmarc": N_("DMARC"),
    "return_path_domain": N_("Return-Path domain"),
}


def language_for(option: str | None, publication_language: str) -> str:
    """`--lang` when given, else Korean for a Korean publication, else English."""
    chosen = (option or publication_language or "en").lower()
    return "ko" if chosen.startswith("ko") else "en"


def message(key: str, language: str, **values: str) -> str:
    return in_language(language, MESSAGES[key]).format(**values)


def check_name(check: str, language: str) -> str:
    """The check's label; a provider's check (`postmark_stream`) shows as its own name."""
    return in_language(language, CHECKS[check]) if check in CHECKS else check
