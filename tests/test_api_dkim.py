"""Our DKIM signature after each transport, as the receiver sees it (one test per transport).

- smtp: the relay prepends its trace headers (RFC 5321 §4.4: Received, Return-Path) and changes
  nothing else; the message is received by a real SMTP server on 127.0.0.1.
- ses: SendEmail with Content.Raw; SES replaces Message-ID and Date ("Amazon SES … overwrites
  the Message-ID and Date headers", https://docs.aws.amazon.com/ses/latest/dg/send-email-authentication-dkim-manual.html)
  and adds its own DKIM-Signature (d=amazonses.com) and Return-Path. With transport "ses" we
  leave both headers out of h=, so the signature verifies on what the SES stand-in received.
- mailgun: messages.mime keeps our bytes; tests/test_dkim.py verifies it after Mailgun's headers.
- postmark, sendgrid: JSON APIs. The provider builds the MIME itself and signs it with its own
  key for the domain authenticated in its dashboard (Postmark: Sender Signatures → DNS DKIM;
  SendGrid: Sender Authentication → domain authentication). Our signature could not survive
  the rebuilt body, so it must not be sent at all: SendGrid refuses `DKIM-Signature` in
  `headers` (a reserved header in its OpenAPI) and Postmark would carry a broken one.
"""

from __future__ import annotations

import base64
import json
import re

import dkim as dkimpy
import pytest

import sendkit
from api_servers import ApiServer
from smtp_server import SmtpTestServer
from test_dkim import _as_ses_sends_it, _signed_message_for, dns_for, keypair  # noqa: F401 - keypair is a fixture
from webzine.providers.postmark import PostmarkTransport
from webzine.providers.sendgrid import SendGridTransport
from webzine.providers.ses import SesTransport
from webzine.providers.sigv4 import Credentials
from webzine.transports.http import build_client
from webzine.transports.smtp import SmtpTransport


def test_smtp_keeps_the_signature_as_the_relay_passes_it_on(monkeypatch, keypair) -> None:
    pem, record = keypair
    message = _signed_message_for(monkeypatch, pem, "smtp")
    with SmtpTestServer(tls="none") as server:
        settings = sendkit.settings(transport="smtp")
        settings = settings.model_copy(update={"smtp": settings.smtp.model_copy(
            update={"host": server.host, "port": server.port, "security": "none"})})
        transport = SmtpTransport.from_settings(settings)
        try:
            transport.send(message)
        finally:
            transport.close()
        [received] = server.messages
    relayed = (b"Return-Path: <bounces@example.co.kr>\r\n"
               b"Received: from news.example.co.kr (news.example.co.kr [192.0.2.10]) by mx.example.com with ESMTPS"
               b" id 4ZkT1x; Tue, 01 Dec 2026 09:00:01 +0900\r\n") + received.data
    assert received.data.startswith(b"DKIM-Signature: ")
    assert dkimpy.verify(relayed, dnsfunc=dns_for(record))


def test_ses_keeps_the_signature_after_its_documented_rewrites(monkeypatch, keypair) -> None:
    pem, record = keypair
    message = _signed_message_for(monkeypatch, pem, "ses")
    server = ApiServer("ses")
    try:
        server.configure()
        credentials = Credentials(access_key="AKIDEXAMPLE", secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        ses = SesTransport(build_client(server.url, timeout=5, connections=1), credentials=credentials,
                           region="ap-northeast-2")
        ses.send(message)
        [request] = [r for r in server.received()["requests"] if r["path"] == "/v2/email/outbound-emails"]
    finally:
        server.stop()
    raw = base64.b64decode(json.loads(request["body"])["Content"]["Raw"]["Data"])
    assert raw == message.data
    added = (b"Return-Path: <0100019384e0c1a2-4c7f1d2e-9b3a-4d5e-8f60-7a8b9c0d1e2f-000000@ap-northeast-2.amazonses.com>\r\n"
             b"DKIM-Signature: v=1; a=rsa-sha256; q=dns/txt; c=relaxed/simple; s=224i4yxa5dv7c2xz3womw6peuasteono;"
             b" d=amazonses.com; t=1764547203; h=From:To:Subject; bh=AAAA; b=AAAA\r\n")
    arrived = added + _as_ses_sends_it(raw)
    assert dkimpy.DKIM(arrived).verify(idx=1, dnsfunc=dns_for(record))  # idx 0 is SES's own signature


@pytest.mark.parametrize("provider", ["postmark", "sendgrid"])
def test_json_apis_never_carry_our_signature_the_provider_signs_instead(monkeypatch, keypair, provider: str) -> None:
    pem, _ = keypair
    message = _signed_message_for(monkeypatch, pem, provider)
    assert message.data.startswith(b"DKIM-Signature: ")  # [dkim] is set: the message was signed
    server = ApiServer(provider)
    try:
        server.configure()
        client = build_client(server.url, timeout=5, connections=1)
        transport = (PostmarkTransport(client, token="test-token", batch=False) if provider == "postmark"
                     else SendGridTransport(client, api_key="test-token"))
        transport.send(message)
        [request] = [r for r in server.received()["requests"] if r["method"] == "POST"]
    finally:
        server.stop()
    body = json.loads(request["body"])
    names = ([header["Name"] for header in body["Headers"]] if provider == "postmark" else list(body["headers"]))
    assert names and not [name for name in names if name.lower() in ("dkim-signature", "date")]
    assert not re.search(r"DKIM-Signature|b=[A-Za-z0-9+/]{40}", request["body"], re.IGNORECASE)
