"""Provider events as the providers really send them: each finds its ledger row, and the
provider's own verdict is kept where it has the better evidence.

The samples are the providers' published examples (see tests/fixtures/providers/README.md),
with only our own correlation values added where the provider echoes what we sent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api_samples import messages
from api_servers import DEFAULTS, ApiServer
from bouncekit import TODAY
from webzine.bounces.events import Kind
from webzine.bounces.importer import run_import
from webzine.bounces.policy import suppressions
from webzine.providers import PROVIDERS
from webzine.providers.mailgun_webhook import parse_events as parse_mailgun_events
from webzine.providers.postmark_webhook import parse_events as parse_postmark_events
from webzine.providers.sendgrid_webhook import parse_events as parse_sendgrid_events
from webzine.providers.ses_webhook import parse_events as parse_ses_events
from webzine.bounces.sources import FileSource
from webzine.send.ledger import Claim, Ledger, Result, State
from webzine.message.factory import message_id
from webzine.models import Message, Outcome
from webzine.transports.http import build_client
from webzine.providers.mailgun import MailgunTransport
from webzine.providers.postmark import PostmarkTransport
from webzine.providers.sendgrid import SendGridTransport
from webzine.providers.ses import SesTransport
from webzine.providers.sigv4 import Credentials
from webzine.providers.tags import issue_of

FIXTURES = Path(__file__).parent / "fixtures" / "providers"
ISSUE = "2026-12-year-end"


def sample(name: str) -> list[dict]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def ours(index: int = 0, *, issue: str = ISSUE) -> Message:
    """A sample message with a Message-ID exactly as webzine.message.factory makes it."""
    message = messages(1, start=index)[0]
    mid = message_id("k", issue, message.key, "news.example.co.kr")
    return Message(key=message.key, mail_from=message.mail_from, rcpt_to=message.rcpt_to, subject=message.subject,
                   content=message.content, data=message.data.replace(message.message_id.encode(), mid.encode()),
                   message_id=mid)


def test_the_issue_is_read_back_from_our_message_ids() -> None:
    assert issue_of(message_id("k", ISSUE, "kim@example.com", "news.example.co.kr")) == ISSUE
    assert issue_of(message_id("k", "2026.12", "kim@example.com", "d.example", test=True)) == "2026.12"
    assert issue_of(message_id("k", "호외 특집", "kim@example.com", "d.example")) is None  # the `wz` stand-in
    assert issue_of("14c5d75ce93.dfd.64b469@ismtpd-555") is None


# --- SendGrid ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sendgrid() -> ApiServer:
    handle = ApiServer("sendgrid")
    yield handle
    handle.stop()


def test_sendgrid_sends_the_issue_and_our_message_id_as_custom_args(sendgrid: ApiServer) -> None:
    sendgrid.configure()
    message = ours()
    transport = SendGridTransport(build_client(sendgrid.url, timeout=5, connections=1), api_key="test-token")
    assert transport.send(message).provider_id
    [request] = sendgrid.received()["requests"]
    [personalization] = json.loads(request["body"])["personalizations"]
    assert personalization["custom_args"] == {"webzine_message_id": message.message_id, "webzine_issue": ISSUE}


def _ledger_with(path: Path, message: Message, provider_id: str) -> Ledger:
    ledger = Ledger.open(path)
    claim = Claim(message.key, message.rcpt_to, message.message_id, None)
    ledger.commit(ISSUE, transport="sendgrid", run_id=None, claims=[claim])
    ledger.commit(ISSUE, transport="sendgrid", run_id=None,
                  outcomes=[Result(message.key, State.ACCEPTED, 202, provider_id=provider_id)])
    return ledger


def _import(tmp_path: Path, events: list[dict], ledger: Ledger):  # type: ignore[no-untyped-def]
    (tmp_path / "events.json").write_text(json.dumps(events), encoding="utf-8")
    return run_import([FileSource(tmp_path / "events.json")], events_path=tmp_path / "state" / "events.jsonl",
                      suppressions_path=tmp_path / "suppressions.csv", soft_limit=3, lookup=ledger, today=TODAY,
                      readers=tuple(PROVIDERS.values()))


def test_a_sendgrid_event_finds_its_ledger_row_by_the_custom_arg(tmp_path: Path) -> None:
    """SendGrid echoes custom_args as top-level event fields; its sg_message_id never equals
    the X-Message-Id the send stored."""
    message = ours()
    [bounce] = [dict(e, email=message.rcpt_to, webzine_message_id=message.message_id)
                for e in sample("sendgrid-events.json") if e["event"] == "bounce"]
    with _ledger_with(tmp_path / "ledger.sqlite3", message, "someone-else") as ledger:
        [event] = _import(tmp_path, [bounce], ledger).fresh
    assert (event.email, event.issue) == (message.rcpt_to, ISSUE)


def test_a_sendgrid_event_without_custom_args_finds_the_row_by_the_x_message_id_prefix(tmp_path: Path) -> None:
    """SendGrid documents sg_message_id as the X-Message-Id with a suffix (`.filter…`, `.recvd-…`)."""
    message = ours()
    [bounce] = [dict(e, email=message.rcpt_to) for e in sample("sendgrid-events.json") if e["event"] == "bounce"]
    x_message_id = bounce["sg_message_id"].split(".filter")[0]
    with _ledger_with(tmp_path / "ledger.sqlite3", message, x_message_id) as ledger:
        [event] = _import(tmp_path, [bounce], ledger).fresh
    assert event.issue == ISSUE
    recvd = dict(bounce, sg_event_id="other", sg_message_id="euo2iKxdSayPF4YE4--I7A.recvd-5f54b5d587-pczjm-1-67BADEEA-6.0")
    (tmp_path / "recvd").mkdir()
    with _ledger_with(tmp_path / "recvd" / "ledger.sqlite3", message, "euo2iKxdSayPF4YE4--I7A") as ledger:
        [event] = _import(tmp_path / "recvd", [recvd], ledger).fresh
    assert event.issue == ISSUE


def test_the_sendgrid_issue_custom_arg_names_the_issue_without_a_ledger() -> None:
    [bounce] = [dict(e, webzine_issue=ISSUE) for e in sample("sendgrid-events.json") if e["event"] == "bounce"]
    [event] = parse_sendgrid_events([bounce])
    assert event.issue == ISSUE


def test_postmark_metadata_names_the_issue() -> None:
    message = ours()
    transport = PostmarkTransport(build_client("http://127.0.0.1:9", timeout=1, connections=1), token="t")
    assert transport.payload(message)["Metadata"] == {"webzine-message-id": message.message_id,
                                                      "webzine_issue": ISSUE}


def test_ses_tags_each_message_with_its_issue_where_ses_allows_the_characters() -> None:
    """SES message tags take only ASCII letters, digits, `_` and `-`: our Message-ID never fits,
    a slug like 2026-12-year-end does; SES events carry the tags in `mail.tags`."""
    server = ApiServer("ses")
    try:
        server.configure()
        ses = SesTransport(build_client(server.url, timeout=5, connections=1),
                           credentials=Credentials(DEFAULTS["access_key"], DEFAULTS["secret_key"]),
                           region=DEFAULTS["region"])
        assert ses.send(ours()).outcome is Outcome.ACCEPTED
        assert ses.send(ours(1, issue="2026.12")).outcome is Outcome.ACCEPTED
        assert [m["tags"] for m in server.messages()] == [{"webzine_issue": ISSUE}, {}]
    finally:
        server.stop()


# --- tracking off per message -------------------------------------------------------------------


@pytest.fixture(scope="module")
def mailgun() -> ApiServer:
    handle = ApiServer("mailgun")
    yield handle
    handle.stop()


def test_sendgrid_click_and_open_tracking_are_off_for_each_message(sendgrid: ApiServer) -> None:
    """With account-level click tracking on, SendGrid would rewrite every link, the in-body
    수신거부 link included; per-message tracking_settings win over the account's."""
    sendgrid.configure()
    transport = SendGridTransport(build_client(sendgrid.url, timeout=5, connections=1), api_key="test-token")
    transport.send(ours())
    [request] = sendgrid.received()["requests"]
    assert json.loads(request["body"])["tracking_settings"] == {
        "click_tracking": {"enable": False, "enable_text": False}, "open_tracking": {"enable": False},
        "subscription_tracking": {"enable": False}}


def test_mailgun_tracking_is_off_and_the_issue_rides_as_user_variables(mailgun: ApiServer) -> None:
    """Mailgun's click tracking rewrites links in our MIME, which also breaks our DKIM body hash."""
    mailgun.configure()
    message = ours()
    transport = MailgunTransport(build_client(mailgun.url, timeout=5, connections=1), api_key="test-token",
                                 domain="mg.example.co.kr")
    assert transport.send(message).provider_id == message.message_id
    [accepted] = mailgun.messages()
    assert accepted["options"] == {"o:tracking": "no", "o:tracking-clicks": "no", "o:tracking-opens": "no",
                                   "v:webzine_message_id": message.message_id, "v:webzine_issue": ISSUE}
    assert accepted["raw"] == message.data.decode("ascii")


def test_mailgun_events_name_the_issue_from_the_user_variables() -> None:
    payload = fixture("mailgun-failed.json")
    payload["event-data"]["user-variables"] = {"webzine_issue": ISSUE}
    [event] = parse_mailgun_events(payload)
    assert event.issue == ISSUE


# --- provider verdicts --------------------------------------------------------------------------


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("event", "kind"),
    [("processed", None), ("deferred", Kind.SOFT), ("delivered", Kind.DELIVERED), ("bounce", Kind.HARD),
     ("dropped", Kind.HARD), ("spamreport", Kind.COMPLAINT), ("unsubscribe", Kind.UNSUBSCRIBE)],
)
def test_sendgrids_documented_events_keep_sendgrids_verdict(event: str, kind: Kind | None) -> None:
    """The reference's bounce ("500 unknown recipient", 5.0.0, type bounce) is SendGrid's hard
    bounce: the provider saw the SMTP session, our doubt about a bare text does not outrank it."""
    found = parse_sendgrid_events([e for e in sample("sendgrid-events.json") if e["event"] == event])
    assert [e.kind for e in found] == ([kind] if kind else [])


@pytest.mark.parametrize(
    ("reason", "description", "kind"),
    [("suppress-bounce", "Not delivering to previously bounced address", Kind.HARD),
     ("suppress-unsubscribe", "Not delivering to unsubscribed address", Kind.UNSUBSCRIBE),
     ("suppress-complaint", "Not delivering to a user who marked your messages as spam", Kind.COMPLAINT)],
)
def test_mailgun_suppression_reasons_keep_their_meaning(reason: str, description: str, kind: Kind) -> None:
    payload = fixture("mailgun-failed.json")
    payload["event-data"].update(reason=reason)
    payload["event-data"]["delivery-status"]["description"] = description
    [event] = parse_mailgun_events(payload)
    assert (event.kind, event.reason) == (kind, "provider_suppressed")


@pytest.mark.parametrize(
    ("reason", "origin", "kind"),
    [("HardBounce", "Recipient", Kind.HARD), ("SpamComplaint", "Recipient", Kind.COMPLAINT),
     ("ManualSuppression", "Recipient", Kind.UNSUBSCRIBE), ("ManualSuppression", "Customer", Kind.UNKNOWN),
     ("ManualSuppression", "Admin", Kind.UNKNOWN)],
)
def test_postmark_manual_suppressions_by_the_sender_are_not_reader_unsubscribes(reason: str, origin: str,
                                                                                 kind: Kind) -> None:
    """Postmark: a ManualSuppression with Origin Recipient is the reader's own unsubscribe (its
    link); Customer (you, by UI or API) and Admin (Postmark) are not the reader's choice."""
    [event] = parse_postmark_events(dict(fixture("postmark-subscription-change.json"), SuppressionReason=reason,
                                         Origin=origin))
    assert event.kind is kind
    assert event.evidence["origin"] == origin


def test_an_ses_delivery_delay_is_a_delay_that_never_counts_toward_suppression() -> None:
    delay = fixture("ses-delivery-delay.json")
    events = parse_ses_events([dict(delay, mail=dict(delay["mail"], messageId=f"m{n}")) for n in range(5)])
    assert [e.kind for e in events] == [Kind.DELAYED] * 5
    assert events[0].status == "4.4.1" and events[0].evidence["delay_type"] == "TransientCommunicationFailure"
    assert len({e.dedupe_key for e in events}) == 5
    assert suppressions(events, soft_limit=1, history=None, today=TODAY) == []


def test_not_spam_feedback_is_not_a_complaint() -> None:
    note = {"notificationType": "Complaint", "mail": {"messageId": "m1"},
            "complaint": {"feedbackId": "fb-1", "complaintFeedbackType": "not-spam", "timestamp": "2026-12-02T00:00:00Z",
                          "complainedRecipients": [{"emailAddress": "kim@example.com"}]}}
    assert [e.kind for e in parse_ses_events(note) if e.kind is Kind.COMPLAINT] == []


@pytest.mark.parametrize(
    ("changes", "kind", "reason"),
    [({}, Kind.HARD, "provider_hard_bounce"),
     ({"RecordType": "SpamComplaint", "Type": "SpamComplaint", "TypeCode": 512, "Name": "Spam complaint",
       "Description": "The subscriber explicitly marked this message as spam.",
       "Details": "Test spam complaint details"}, Kind.COMPLAINT, "SpamComplaint")],
)
def test_postmarks_documented_bounce_and_complaint(changes: dict, kind: Kind, reason: str) -> None:
    """Postmark's example says only "Test bounce details": its HardBounce verdict stands."""
    [event] = parse_postmark_events(dict(fixture("postmark-bounce.json"), **changes))
    assert (event.kind, event.reason, event.email) == (kind, reason, "john@example.com")


def test_ses_documented_bounce_complaint_and_delivery() -> None:
    events = parse_ses_events(sample("ses-notifications.json"))
    assert [(e.kind, e.reason, e.email) for e in events] == [
        (Kind.HARD, "user_unknown", "jane@example.com"), (Kind.COMPLAINT, "abuse", "richard@example.com"),
        (Kind.DELIVERED, "delivered", "jane@example.com")]
