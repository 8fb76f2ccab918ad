"""Provider event payloads, in each provider's documented shape, mapped onto one vocabulary."""

from __future__ import annotations

import json

import pytest

from webzine.bounces.events import BounceEvent, Kind
from webzine.bounces.events import PayloadError
from webzine.providers import detect_provider
from webzine.providers.mailgun_webhook import parse_events as parse_mailgun_events
from webzine.providers.postmark_webhook import parse_events as parse_postmark_events
from webzine.providers.sendgrid_webhook import parse_events as parse_sendgrid_events
from webzine.providers.ses_webhook import parse_events as parse_ses_events

SES_BOUNCE = {
    "notificationType": "Bounce",
    "bounce": {
        "bounceType": "Permanent", "bounceSubType": "General", "feedbackId": "0100-fb-1",
        "timestamp": "2026-12-01T00:06:40.502Z", "reportingMTA": "dsn; a27-23.smtp-out.amazonses.com",
        "bouncedRecipients": [{"emailAddress": "kim@example.com", "action": "failed", "status": "5.1.1",
                               "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
    },
    "mail": {"messageId": "0100-msg-1", "tags": {"webzine_issue": ["2026-12-year-end"]},
             "destination": ["kim@example.com"]},
}


def _sns(message: dict) -> bytes:
    return json.dumps({"Type": "Notification", "MessageId": "sns-1", "Message": json.dumps(message)}).encode()


def test_ses_bounce_through_sns() -> None:
    [event] = parse_ses_events(_sns(SES_BOUNCE))
    assert (event.kind, event.email, event.status, event.issue) == (Kind.HARD, "kim@example.com", "5.1.1",
                                                                   "2026-12-year-end")
    assert event.dedupe_key == "ses:0100-fb-1:kim@example.com"
    assert event.provider == "ses" and event.evidence["message_id"] == "0100-msg-1"
    assert event.occurred_at is not None and event.occurred_at.year == 2026


def test_ses_permanent_dmarc_rejection_is_the_senders_problem() -> None:
    note = json.loads(json.dumps(SES_BOUNCE))
    note["bounce"]["bouncedRecipients"][0].update(
        status="5.7.26", diagnosticCode="smtp; 550 5.7.26 Unauthenticated email is not accepted due to DMARC policy")
    [event] = parse_ses_events(note)
    assert event.kind is Kind.SENDER_PROBLEM


def test_ses_transient_complaint_delivery_and_subscription_confirmation() -> None:
    transient = json.loads(json.dumps(SES_BOUNCE))
    transient["bounce"].update(bounceType="Transient", bounceSubType="MailboxFull")
    transient["bounce"]["bouncedRecipients"][0].update(status="4.2.2", diagnosticCode="smtp; 452 4.2.2 Mailbox full")
    complaint = {"notificationType": "Complaint", "mail": {"messageId": "m2"},
                 "complaint": {"feedbackId": "fb-2", "complaintFeedbackType": "abuse",
                               "timestamp": "2026-12-02T00:00:00Z",
                               "complainedRecipients": [{"emailAddress": "lee@example.com"}]}}
    delivery = {"notificationType": "Delivery", "mail": {"messageId": "m3"},
                "delivery": {"timestamp": "2026-12-02T00:00:00Z", "recipients": ["park@example.com"],
                             "smtpResponse": "250 2.6.0 Message received"}}
    confirm = {"Type": "SubscriptionConfirmation", "SubscribeURL": "https://sns.example/confirm"}
    events = parse_ses_events([transient, complaint, delivery, confirm])
    assert [(e.kind, e.email) for e in events] == [(Kind.SOFT, "kim@example.com"), (Kind.COMPLAINT, "lee@example.com"),
                                                  (Kind.DELIVERED, "park@example.com")]


SENDGRID = [
    {"email": "kim@example.com", "timestamp": 1764547200, "event": "bounce", "type": "bounce",
     "status": "5.1.1", "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
     "sg_event_id": "sg-1", "sg_message_id": "sgm-1", "webzine_issue": "2026-12-year-end"},
    {"email": "lee@example.com", "timestamp": 1764547201, "event": "bounce", "type": "blocked",
     "status": "5.7.1", "reason": "550 5.7.1 Service unavailable; client host blocked using Spamhaus",
     "sg_event_id": "sg-2", "sg_message_id": "sgm-2"},
    {"email": "park@example.com", "timestamp": 1764547202, "event": "deferred",
     "response": "451 4.7.1 Greylisted", "sg_event_id": "sg-3"},
    {"email": "choi@example.com", "timestamp": 1764547203, "event": "spamreport", "sg_event_id": "sg-4"},
    {"email": "jung@example.com", "timestamp": 1764547204, "event": "unsubscribe", "sg_event_id": "sg-5"},
    {"email": "kang@example.com", "timestamp": 1764547205, "event": "dropped", "reason": "Bounced Address",
     "sg_event_id": "sg-6"},
    {"email": "yoon@example.com", "timestamp": 1764547206, "event": "delivered", "response": "250 OK",
     "sg_event_id": "sg-7"},
    {"email": "yoon@example.com", "timestamp": 1764547207, "event": "open", "sg_event_id": "sg-8"},
]


def test_sendgrid_event_webhook() -> None:
    events = parse_sendgrid_events(json.dumps(SENDGRID).encode())
    assert [(e.kind, e.email) for e in events] == [
        (Kind.HARD, "kim@example.com"), (Kind.SENDER_PROBLEM, "lee@example.com"), (Kind.SOFT, "park@example.com"),
        (Kind.COMPLAINT, "choi@example.com"), (Kind.UNSUBSCRIBE, "jung@example.com"), (Kind.HARD, "kang@example.com"),
        (Kind.DELIVERED, "yoon@example.com"),
    ]
    assert events[0].issue == "2026-12-year-end" and events[0].dedupe_key == "sendgrid:sg-1"
    assert events[2].evidence["action"] == "delayed" and "action" not in events[0].evidence


MAILGUN_FAILED = {
    "signature": {"timestamp": "1764547200", "token": "t", "signature": "s"},
    "event-data": {
        "event": "failed", "severity": "permanent", "reason": "bounce", "id": "mg-1",
        "timestamp": 1764547200.5, "recipient": "kim@example.com",
        "delivery-status": {"code": 550, "message": "5.1.1 The email account that you tried to reach does not exist",
                            "description": ""},
        "message": {"headers": {"message-id": "20261201.abc@mg.example.co.kr"}},
        "user-variables": {"webzine_issue": "2026-12-year-end"},
    },
}


def test_mailgun_webhook_and_events_page() -> None:
    [hard] = parse_mailgun_events(MAILGUN_FAILED)
    assert (hard.kind, hard.issue, hard.status, hard.dedupe_key) == (Kind.HARD, "2026-12-year-end", "5.1.1",
                                                                     "mailgun:mg-1")
    temporary = dict(MAILGUN_FAILED["event-data"], id="mg-2", severity="temporary",
                     **{"delivery-status": {"code": 452, "message": "4.2.2 Mailbox full"}})
    page = {"items": [temporary, {"event": "complained", "id": "mg-3", "recipient": "lee@example.com",
                                  "timestamp": 1764547300},
                      {"event": "unsubscribed", "id": "mg-4", "recipient": "park@example.com", "timestamp": 1},
                      {"event": "delivered", "id": "mg-5", "recipient": "choi@example.com", "timestamp": 2},
                      {"event": "opened", "id": "mg-6", "recipient": "choi@example.com", "timestamp": 3}]}
    assert [e.kind for e in parse_mailgun_events(json.dumps(page))] == [
        Kind.SOFT, Kind.COMPLAINT, Kind.UNSUBSCRIBE, Kind.DELIVERED]


POSTMARK_BOUNCE = {
    "RecordType": "Bounce", "ID": 4323372036854775807, "Type": "HardBounce", "TypeCode": 1, "Name": "Hard bounce",
    "Tag": "newsletter", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "ServerID": 23,
    "Metadata": {"webzine_issue": "2026-12-year-end"}, "Description": "The server was unable to deliver your "
    "message (ex: unknown user, mailbox not found).", "Details": "smtp;550 5.1.1 The email account that you tried "
    "to reach does not exist.", "Email": "kim@example.com", "From": "news@example.co.kr",
    "BouncedAt": "2026-12-01T16:33:54.9070259Z", "Inactive": True, "CanActivate": True, "Subject": "12월 소식",
    "MessageStream": "broadcast",
}


def test_postmark_bounce_complaint_and_subscription_change() -> None:
    [hard] = parse_postmark_events(POSTMARK_BOUNCE)
    assert (hard.kind, hard.issue, hard.dedupe_key) == (Kind.HARD, "2026-12-year-end", "postmark:4323372036854775807")
    dmarc = dict(POSTMARK_BOUNCE, ID=2, Type="HardBounce", Details="smtp;550 5.7.26 Unauthenticated email from "
                 "example.co.kr is not accepted due to domain's DMARC policy")
    soft = dict(POSTMARK_BOUNCE, ID=3, Type="SoftBounce", Details="452 4.2.2 Mailbox full")
    complaint = dict(POSTMARK_BOUNCE, ID=4, RecordType="SpamComplaint", Type="SpamComplaint")
    change = {"RecordType": "SubscriptionChange", "MessageID": "m", "Recipient": "lee@example.com",
              "SuppressSending": True, "SuppressionReason": "ManualSuppression", "Origin": "Recipient",
              "ChangedAt": "2026-12-02T00:00:00Z"}
    auto = dict(POSTMARK_BOUNCE, ID=5, Type="AutoResponder", Details="Out of office")
    kinds = [e.kind for e in parse_postmark_events([dmarc, soft, complaint, change, auto])]
    assert kinds == [Kind.SENDER_PROBLEM, Kind.SOFT, Kind.COMPLAINT, Kind.UNSUBSCRIBE, Kind.AUTO_REPLY]


@pytest.mark.parametrize(
    ("payload", "name"),
    [(json.loads(_sns(SES_BOUNCE)), "ses"), (SES_BOUNCE, "ses"), (SENDGRID, "sendgrid"), (MAILGUN_FAILED, "mailgun"),
     (POSTMARK_BOUNCE, "postmark"), ({"hello": "world"}, None)],
)
def test_saved_event_files_are_recognised(payload, name) -> None:
    assert detect_provider(payload) == name


@pytest.mark.parametrize("parser", [parse_ses_events, parse_sendgrid_events, parse_mailgun_events,
                                    parse_postmark_events])
def test_garbage_payloads_raise_payload_error(parser) -> None:
    with pytest.raises(PayloadError):
        parser(b"\x00\xffnot json")
    with pytest.raises(PayloadError):
        parser(["not an object"])


def test_events_round_trip_through_the_store_format() -> None:
    for event in parse_sendgrid_events(SENDGRID) + parse_ses_events(SES_BOUNCE):
        assert BounceEvent.from_json(event.to_json()) == event
