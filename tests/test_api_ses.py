"""Amazon SES v2 SendEmail (raw) against a local server that checks SigV4 independently.

SigV4 is also checked against AWS's published examples. The exact request (path, JSON with our
base64 MIME byte for byte, configuration set, signed headers), account-level errors that stop the
run, MessageRejected for one address, throttling with Retry-After, 5xx, a slow answer, and a retry
storm in which every message arrives exactly once.
"""

from __future__ import annotations

import base64
import json
import os
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone

import httpx
import pytest

from api_samples import drive, messages, raw_message
from api_servers import DEFAULTS, ApiServer
from webzine.errors import SenderProblem
from webzine.models import Outcome
from webzine.transports.http import build_client
from webzine.providers.ses import SesTransport
from webzine.providers.sigv4 import Credentials, sign, signing_key

AWS_EXAMPLE = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
AWS_EXAMPLE_TIME = datetime(2015, 8, 30, 12, 36, tzinfo=timezone.utc)


def test_sigv4_matches_the_aws_general_reference_examples() -> None:
    assert signing_key(AWS_EXAMPLE.secret_key, "20150830", "us-east-1", "iam").hex() == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
    iam = httpx.Request("GET", "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08", headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    sign(iam, AWS_EXAMPLE, "us-east-1", "iam", now=AWS_EXAMPLE_TIME)
    assert iam.headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    )
    vanilla = httpx.Request("GET", "https://example.amazonaws.com/")  # the SigV4 test suite's get-vanilla
    sign(vanilla, AWS_EXAMPLE, "us-east-1", "service", now=AWS_EXAMPLE_TIME)
    assert vanilla.headers["authorization"].endswith("Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    assert "secret" not in repr(AWS_EXAMPLE).replace("secret_key=<hidden>", "")


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    handle = ApiServer("ses")
    yield handle
    handle.stop()


def transport(server: ApiServer, *, timeout: float = 5.0, secret_key: str = DEFAULTS["secret_key"], configuration_set: str = "") -> SesTransport:
    return SesTransport(
        build_client(server.url, timeout=timeout, connections=4),
        credentials=Credentials(DEFAULTS["access_key"], secret_key),
        region=DEFAULTS["region"],
        configuration_set=configuration_set,
    )


def test_raw_send_is_signed_and_carries_our_bytes_exactly(server: ApiServer) -> None:
    server.configure()
    message = messages(1)[0]
    delivery = transport(server, configuration_set="newsletter").send(message)

    assert delivery.outcome is Outcome.ACCEPTED and delivery.code == 200
    (request,) = server.received()["requests"]
    assert (request["method"], request["path"]) == ("POST", "/v2/email/outbound-emails")
    assert request["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "SignedHeaders=content-type;host;x-amz-date," in request["headers"]["Authorization"]
    body = json.loads(request["body"])
    assert body == {
        "Content": {"Raw": {"Data": base64.b64encode(message.data).decode()}},
        "Destination": {"ToAddresses": ["user0@example.com"]},
        "ConfigurationSetName": "newsletter",
    }
    (accepted,) = server.messages()
    assert delivery.provider_id == accepted["provider_id"] and accepted["configuration_set"] == "newsletter"


def test_a_wrong_secret_fails_the_signature_and_stops_the_run(server: ApiServer) -> None:
    server.configure()
    with pytest.raises(SenderProblem, match="HTTP 403.*signature we calculated does not match"):
        transport(server, secret_key="not-the-secret").send(messages(1)[0])
    assert server.messages() == []


def test_paused_sending_stops_the_run_and_a_rejected_address_fails_alone(server: ApiServer) -> None:
    server.configure(sending_paused=True)
    with pytest.raises(SenderProblem, match="SendingPausedException"):
        transport(server).send(messages(1)[0])
    server.configure(reject=["user0@example.com"])
    delivery = transport(server).send(messages(1)[0])
    assert delivery.outcome is Outcome.PERMANENT and delivery.text == "HTTP 400 MessageRejected: Illegal address"
    assert delivery.status == "5.1.3" and delivery.hard_bounce


@pytest.mark.parametrize("fault, code", [("429", 429), ("503", 503)])
def test_throttling_and_5xx_are_temporary(server: ApiServer, fault: str, code: int) -> None:
    server.configure(faults=[fault], retry_after=4)
    delivery = transport(server).send(messages(1)[0])
    assert delivery.outcome is Outcome.TEMPORARY and delivery.code == code
    assert delivery.retry_after == (4.0 if fault == "429" else None)


def test_a_slow_answer_past_the_timeout_is_temporary_and_ambiguous(server: ApiServer) -> None:
    server.configure(faults=["slow"], slow_seconds=1.0)
    delivery = transport(server, timeout=0.3).send(messages(1)[0])
    assert delivery.outcome is Outcome.TEMPORARY and delivery.ambiguous


def test_storm_of_429s_5xx_and_drops_delivers_each_message_exactly_once(server: ApiServer) -> None:
    server.configure(random_faults={"429": 0.25, "500": 0.05, "503": 0.05, "drop": 0.1}, seed=5, retry_after=1, record_bodies=False)
    outgoing = messages(300, html_bytes=300)
    final, attempts = drive(transport(server), outgoing)

    assert len(final) == 300 and all(d.outcome is Outcome.ACCEPTED for d in final.values())
    assert max(attempts.values()) > 1
    counts = Counter((m["message_id"], m["recipient"]) for m in server.messages())
    assert set(counts) == {(m.message_id, m.rcpt_to) for m in outgoing} and set(counts.values()) == {1}


@pytest.mark.skipif(
    not all(os.environ.get(name) for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "WEBZINE_LIVE_FROM")),
    reason="live SES test: set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and WEBZINE_LIVE_FROM (a verified identity)",
)
def test_live_ses_accepts_a_message() -> None:
    """Sends to SES's mailbox simulator unless WEBZINE_LIVE_TO names a real mailbox."""
    raw = messages(1)[0]
    to = os.environ.get("WEBZINE_LIVE_TO", "success@simulator.amazonses.com")
    region = os.environ.get("AWS_REGION", "ap-northeast-2")
    data = raw.data.replace(b"news@example.co.kr", os.environ["WEBZINE_LIVE_FROM"].encode()).replace(b"user0@example.com", to.encode())
    live = SesTransport(
        build_client(SesTransport.endpoint(region), timeout=30, connections=1),
        credentials=Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"], os.environ.get("AWS_SESSION_TOKEN", "")),
        region=region,
    )
    delivery = live.send(raw_message(to, raw.mail_from, to, data, raw.message_id))
    assert delivery.outcome is Outcome.ACCEPTED and delivery.provider_id


def test_temporary_credentials_sign_the_session_token_too(server: ApiServer) -> None:
    server.configure()
    ses = SesTransport(
        build_client(server.url, timeout=5, connections=1),
        credentials=Credentials(DEFAULTS["access_key"], DEFAULTS["secret_key"], session_token="FwoGZXIvYXdzEXAMPLE"),
        region=DEFAULTS["region"],
    )
    assert ses.send(messages(1)[0]).outcome is Outcome.ACCEPTED
    (request,) = server.received()["requests"]
    assert request["headers"]["X-Amz-Security-Token"] == "FwoGZXIvYXdzEXAMPLE"
    assert "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token," in request["headers"]["Authorization"]
