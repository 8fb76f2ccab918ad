"""`webzine settle`'s evidence from the provider's own record: Postmark's message search and
Mailgun's events API, asked by our Message-ID, against the stand-ins."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from clikit import ISSUE, copy_sample, new_dkim_key, run, set_section, set_send

from api_samples import messages
from api_servers import ApiServer
from webzine.send.ledger import Row, State
from webzine.providers.base import provider_evidence
from webzine.send.settle import settle
from webzine.models import Message
from webzine.transports.http import build_client
from webzine.providers.mailgun import MailgunTransport
from webzine.providers.postmark import PostmarkTransport

SLUG = "2026-12-year-end"


def row(message: Message, transport: str) -> Row:
    return Row("2026-12-year-end", message.key, message.rcpt_to, State.CLAIMED, 1, None, None, "", None,
               message.message_id, None, transport, "t", "t")


@pytest.fixture(scope="module")
def postmark() -> Iterator[ApiServer]:
    handle = ApiServer("postmark")
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def mailgun() -> Iterator[ApiServer]:
    handle = ApiServer("mailgun")
    yield handle
    handle.stop()


def test_postmarks_message_search_settles_the_message_it_took(postmark: ApiServer) -> None:
    postmark.configure()
    taken, lost = messages(2)
    pm = PostmarkTransport(build_client(postmark.url, timeout=5, connections=1), token="test-token")
    assert pm.send(taken).provider_id
    seen = provider_evidence(pm, [row(taken, "postmark"), row(lost, "postmark")])
    assert list(seen) == [taken.message_id.lower()]
    assert seen[taken.message_id.lower()].startswith("Postmark's message search (Sent, MessageID ")
    decisions = settle([row(taken, "postmark"), row(lost, "postmark")], seen=seen, resend=True)
    assert [(d.email, d.delivered) for d in decisions] == [(taken.rcpt_to, True), (lost.rcpt_to, False)]


def test_mailguns_events_api_settles_the_message_it_accepted(mailgun: ApiServer) -> None:
    mailgun.configure()
    taken, lost = messages(2, start=5)
    mg = MailgunTransport(build_client(mailgun.url, timeout=5, connections=1), api_key="test-token",
                          domain="mg.example.co.kr")
    assert mg.send(taken).provider_id
    seen = provider_evidence(mg, [row(taken, "mailgun"), row(lost, "mailgun"), row(lost, "smtp")])
    assert seen == {taken.message_id.lower(): "Mailgun's events API (accepted event ev-0)"}


def test_rows_sent_through_another_transport_are_not_asked() -> None:
    pm = PostmarkTransport(build_client("http://127.0.0.1:9", timeout=1, connections=1), token="t")
    assert provider_evidence(pm, [row(messages(1)[0], "smtp")]) == {}


@pytest.mark.slow
def test_settle_ask_provider_settles_a_lost_answer_from_postmarks_record(tmp_path, postmark: ApiServer) -> None:
    """Postmark took the message but the connection closed before its answer: the send keeps the
    recipient unknown; `settle --ask-provider` finds it in Postmark's message search."""
    project = copy_sample(tmp_path)
    set_section(project, "postmark", base_url=postmark.url, timeout=5, batch=False)
    set_send(project, transport="postmark", rate=1000, concurrency=1)
    postmark.configure(faults=["drop_after"])
    env = {"POSTMARK_SERVER_TOKEN": "test-token"}
    sent = run(project, "send", ISSUE, "--yes", "--json", env=env, dkim=new_dkim_key())
    assert sent.returncode == 3 and json.loads(sent.stdout)["unknown"] == 1, sent.stderr
    assert len(postmark.messages()) >= 1

    dry = run(project, "settle", SLUG, "--ask-provider", "--json", env=env)
    decisions = json.loads(dry.stdout)["decisions"]
    assert dry.returncode == 0 and len(decisions) == 1 and decisions[0]["delivered"]
    assert decisions[0]["evidence"].startswith("delivered per Postmark's message search (Sent, MessageID ")


def test_settle_ask_provider_needs_an_api_that_keeps_a_record(tmp_path) -> None:
    project = copy_sample(tmp_path)  # the sample project sends to its outbox
    refused = run(project, "settle", SLUG, "--ask-provider")
    assert refused.returncode == 2 and "--ask-provider reads Postmark's or Mailgun's record" in refused.stderr
