"""The real `webzine.send.dispatch.Sender` through each email-API transport, against the local stand-ins
injecting 429s, 5xx and dropped connections: every recipient arrives exactly once (counted at
the server by Message-ID and recipient), the ledger holds each provider's id, and a re-run sends
nothing more."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TODAY

import sendkit
from sendkit import SkippingClock
from api_servers import DEFAULTS, ApiServer
from webzine.send.ledger import Ledger, State
from webzine.message.factory import MessageFactory
from webzine.send.pacing import SuppressionWatch
from webzine.send.dispatch import Sender, SendOptions
from webzine.recipients.suppressions import load_suppressions, merge_suppressions
from webzine.transports.http import ApiTransport, build_client
from webzine.providers.mailgun import MailgunTransport
from webzine.providers.postmark import PostmarkTransport
from webzine.providers.sendgrid import SendGridTransport
from webzine.providers.ses import SesTransport
from webzine.providers.sigv4 import Credentials

pytestmark = pytest.mark.slow  # whole sends through the provider stand-ins

RECIPIENTS = 60
STORM = {"429": 0.15, "500": 0.04, "503": 0.03, "drop": 0.06}


def transport(provider: str, url: str) -> ApiTransport:
    client = build_client(url, timeout=10, connections=4)
    if provider == "sendgrid":
        return SendGridTransport(client, api_key=DEFAULTS["token"])
    if provider == "mailgun":
        return MailgunTransport(client, api_key=DEFAULTS["token"], domain=DEFAULTS["domain"])
    if provider == "postmark":
        built = PostmarkTransport(client, token=DEFAULTS["token"], stream="broadcast")
        built.batch_size = 10  # several batch calls, so faults hit some of them
        return built
    return SesTransport(client, credentials=Credentials(DEFAULTS["access_key"], DEFAULTS["secret_key"]), region=DEFAULTS["region"])


@pytest.fixture(params=["postmark", "sendgrid", "mailgun", "ses"])
def server(request: pytest.FixtureRequest) -> Iterator[ApiServer]:
    handle = ApiServer(request.param)
    yield handle
    handle.stop()


def run_once(tmp_path: Path, server: ApiServer, options: SendOptions = SendOptions()) -> tuple[object, Ledger, str]:
    settings = sendkit.settings(tmp_path, rate=1000, concurrency=4, max_attempts=8, retry_deadline_seconds=60)
    factory = MessageFactory(sendkit.rendered(paragraphs=2), settings, token_key=sendkit.SECRET, managers=sendkit.MANAGERS)
    ledger = Ledger.open(tmp_path / "ledger.sqlite3")
    suppressions = tmp_path / "suppressions.csv"
    sender = Sender(
        settings,
        today=TODAY,
        factory=factory,
        transport=transport(server.provider, server.url),
        ledger=ledger,
        suppressions=SuppressionWatch(suppressions, load_suppressions),
        merge_suppressions=lambda new: merge_suppressions(suppressions, new),
        options=options,
        clock=(clock := SkippingClock()),  # the storm's Retry-After and backoffs pass at once
        sleep=clock.sleep,
    )
    try:
        summary = sender.run([sendkit.recipient(n) for n in range(RECIPIENTS)])
    finally:
        sender.transport.close()
    return summary, ledger, sender.issue


def test_a_real_send_through_a_storm_delivers_everyone_exactly_once(tmp_path: Path, server: ApiServer) -> None:
    server.configure(random_faults=STORM, seed=2, retry_after=1, record_bodies=False)
    summary, ledger, issue = run_once(tmp_path, server)
    # A connection dropped after the request went out leaves the recipient unknown (the provider
    # may have taken it): never retried automatically. The stand-in drops before accepting, so
    # the deliberate `--resend-unknown` re-run completes the send without a duplicate.
    for _ in range(3):  # anything deferred past the retry budget is what a re-run is for
        if summary.deferred == 0 and summary.unknown == 0:  # type: ignore[attr-defined]
            break
        summary, ledger, issue = run_once(tmp_path, server, SendOptions(resend_unknown=True))

    assert summary.deferred == 0 and summary.failed == 0 and summary.unknown == 0  # type: ignore[attr-defined]
    received = server.messages()
    by_recipient = Counter(m["recipient"] for m in received)
    assert len(by_recipient) == RECIPIENTS and set(by_recipient.values()) == {1}, "nobody twice, nobody missing"
    calls_without_faults = -(-RECIPIENTS // (10 if server.provider == "postmark" else 1))
    assert len(server.received()["requests"]) > calls_without_faults, "the storm forced retries"
    rows = ledger.rows(issue, State.ACCEPTED)
    assert len(rows) == RECIPIENTS
    assert {row.provider_id for row in rows} == {m["provider_id"] for m in received}
    if server.provider != "ses":  # SES replaces our Message-ID; the others carry it
        assert {row.message_id for row in rows} == {m["message_id"] for m in received}

    again, _, _ = run_once(tmp_path, server)
    assert again.already_accepted == RECIPIENTS and len(server.messages()) == RECIPIENTS  # type: ignore[attr-defined]
