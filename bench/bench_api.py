"""Email-API transports: messages per second against local provider stand-ins, single vs batch.

Each provider's stand-in (`tests/api_servers.py`, its own process on 127.0.0.1) answers every
request after a fixed 20 ms, like a nearby API. The same ~120 KB personalised messages go through:

- every adapter's single-message endpoint at `--concurrency` connections (keep-alive, one pooled
  httpx client): SendGrid mail/send, Mailgun messages.mime, Postmark /email, SES SendEmail (raw);
- Postmark /email/batch (500 and 100 messages a call), the one batch endpoint that carries our
  fully personalised messages exactly;
- for reference, what the inexact batch endpoints would give (NOT used by webzine: one shared
  body for all recipients, see docs/email-apis.md): SendGrid with 1,000 personalizations per
  request, Mailgun messages.mime with 1,000 recipients per request;
- a naive peer: Postmark /email with a new connection per message, one at a time (what a script
  calling `httpx.post` in a loop does).

"vs postmark single" is each row against Postmark's single endpoint at the same concurrency.
Postmark runs a second time with answers after 150 ms (an API across the Pacific), where batching
matters most. Also printed: the CPU time per message to build each request (the JSON APIs must
take our MIME apart; the raw-MIME APIs send it as it is).
Run alone: `.venv/bin/python bench/bench_api.py [--count N] [--concurrency C] [--quick]`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402

from api_samples import messages  # noqa: E402
from api_servers import DEFAULTS, ApiServer  # noqa: E402
from webzine.models import Outcome  # noqa: E402
from webzine.models import Message
from webzine.transports.http import ApiTransport, build_client  # noqa: E402
from webzine.providers.mailgun import MailgunTransport  # noqa: E402
from webzine.providers.postmark import PostmarkTransport  # noqa: E402
from webzine.providers.sendgrid import SendGridTransport  # noqa: E402
from webzine.providers.ses import SesTransport  # noqa: E402
from webzine.providers.sigv4 import Credentials  # noqa: E402

DELAY = 0.020
HTML_BYTES = 43_000  # → ~120 KB messages (two base64 bodies), as webzine builds them


def make(provider: str, url: str, connections: int) -> ApiTransport:
    client = build_client(url, timeout=60, connections=connections)
    if provider == "sendgrid":
        return SendGridTransport(client, api_key=DEFAULTS["token"])
    if provider == "mailgun":
        return MailgunTransport(client, api_key=DEFAULTS["token"], domain=DEFAULTS["domain"])
    if provider == "postmark":
        return PostmarkTransport(client, token=DEFAULTS["token"], stream="broadcast")
    return SesTransport(client, credentials=Credentials(DEFAULTS["access_key"], DEFAULTS["secret_key"]), region=DEFAULTS["region"])


def run(send: Callable[[list[Message]], Sequence[object]], outgoing: list[Message], size: int, workers: int) -> float:
    """Seconds to hand every message over; every outcome must be accepted."""
    groups = [outgoing[i : i + size] for i in range(0, len(outgoing), size)]
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        for outcomes in pool.map(send, groups):
            assert all(getattr(o, "outcome", Outcome.ACCEPTED) is Outcome.ACCEPTED for o in outcomes), outcomes
    return time.perf_counter() - started


def single(transport: ApiTransport) -> Callable[[list[Message]], Sequence[object]]:
    return lambda group: [transport.send(m) for m in group]


def sendgrid_personalizations(transport: SendGridTransport) -> Callable[[list[Message]], Sequence[object]]:
    """Reference only: one request, one shared body, a personalization per recipient."""

    def send(group: list[Message]) -> Sequence[object]:
        body = transport.payload(group[0])
        body["personalizations"] = [{"to": [{"email": m.rcpt_to}], "headers": {"Message-ID": f"<{m.message_id}>"}} for m in group]
        content = json.dumps(body, ensure_ascii=False).encode()
        headers = {**transport.auth, "Content-Type": "application/json"}
        delivery = transport.deliver(lambda: transport.client.build_request("POST", "/v3/mail/send", content=content, headers=headers))
        return [delivery] * len(group)

    return send


def mailgun_recipient_variables(transport: MailgunTransport) -> Callable[[list[Message]], Sequence[object]]:
    """Reference only: one MIME body to many recipients with recipient-variables."""

    def send(group: list[Message]) -> Sequence[object]:
        data = {"to": ",".join(m.rcpt_to for m in group), "recipient-variables": json.dumps({m.rcpt_to: {"n": i} for i, m in enumerate(group)})}
        files = {"message": ("message.eml", group[0].data, "message/rfc822")}
        delivery = transport.deliver(lambda: transport.client.build_request("POST", transport.path, data=data, files=files, headers=transport.auth))
        return [delivery] * len(group)

    return send


def naive_postmark(url: str) -> Callable[[list[Message]], Sequence[object]]:
    """A new connection per message, no pooling: `httpx.post` in a loop."""
    shaper = PostmarkTransport(httpx.Client(), token=DEFAULTS["token"])

    def send(group: list[Message]) -> Sequence[object]:
        for m in group:
            response = httpx.post(f"{url}/email", json=shaper.payload(m), headers={**shaper.auth}, timeout=60)
            assert response.status_code == 200, response.text
        return []

    return send


def build_cost(transport: ApiTransport, outgoing: list[Message]) -> float:
    """CPU milliseconds per message to turn our MIME into the provider's request body."""
    sample = outgoing[:200]
    started = time.perf_counter()
    for m in sample:
        if isinstance(transport, (SendGridTransport, PostmarkTransport)):
            json.dumps(transport.payload(m), ensure_ascii=False).encode()
        elif isinstance(transport, SesTransport):
            transport.signed("POST", "/v2/email/outbound-emails", content=json.dumps({"Data": __import__("base64").b64encode(m.data).decode()}).encode())
    return (time.perf_counter() - started) / len(sample) * 1000


Row = tuple[str, str, int, float]  # label, what one request carries, messages, msg/s


def provider_rows(provider: str, outgoing: list[Message], concurrency: int, delay: float, costs: dict[str, float]) -> list[Row]:
    server = ApiServer(provider)
    rows: list[Row] = []
    try:
        server.configure(delay=delay, record_bodies=False)
        transport = make(provider, server.url, concurrency)
        build_cost(transport, outgoing[:5])  # warm-up: imports, regex compilation
        costs[provider] = build_cost(transport, outgoing)
        variants: list[tuple[str, str, Callable[[list[Message]], Sequence[object]], int, int]] = [
            (f"{provider} single", "1 message", single(transport), 1, concurrency)
        ]
        if isinstance(transport, PostmarkTransport):
            variants += [
                ("postmark batch", "500 messages", transport.send_batch, 500, concurrency),
                ("postmark batch", "100 messages", transport.send_batch, 100, concurrency),
                ("naive peer: httpx.post per message, serial", "1, new connection", naive_postmark(server.url), len(outgoing), 1),
            ]
        if isinstance(transport, SendGridTransport):
            variants.append(("sendgrid personalizations (inexact, unused)", "1 body, 1000 recipients", sendgrid_personalizations(transport), 1000, concurrency))
        if isinstance(transport, MailgunTransport):
            variants.append(("mailgun recipient-variables (inexact, unused)", "1 body, 1000 recipients", mailgun_recipient_variables(transport), 1000, concurrency))
        for label, carries, send, size, workers in variants:
            subset = outgoing if "naive" not in label else outgoing[: max(50, len(outgoing) // 10)]
            rate = len(subset) / run(send, subset, size, workers)
            rows.append((label, carries, len(subset), rate))
            print(f"  {label:<48} {carries:<24} {rate:9.1f} msg/s", flush=True)
        transport.close()
    finally:
        server.stop()
    return rows


def table(title: str, rows: list[Row], base_label: str) -> None:
    base = next(rate for label, _, _, rate in rows if label == base_label)
    print(f"\n{title}\n")
    print(f"| adapter / endpoint | one request carries | messages | msg/s | vs {base_label} |")
    print("|---|---|---|---|---|")
    for label, carries, total, rate in rows:
        print(f"| {label} | {carries} | {total} | {rate:.1f} | {rate / base:.2f}× |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="messages per row (default 2000)")
    parser.add_argument("--concurrency", type=int, default=4, help="connections / threads (default 4, as [send])")
    parser.add_argument("--far", type=float, default=0.150, help="second Postmark run with this answer delay in s (default 0.15: Korea → US)")
    parser.add_argument("--quick", action="store_true", help="500 messages per row")
    args = parser.parse_args()
    count = 500 if args.quick else args.count
    outgoing = messages(count, html_bytes=HTML_BYTES)
    costs: dict[str, float] = {}
    print(f"{count} messages of {len(outgoing[0].data) / 1024:.0f} KB, {args.concurrency} connections, answers after {DELAY * 1000:.0f} ms", flush=True)
    rows: list[Row] = []
    for provider in ("postmark", "sendgrid", "mailgun", "ses"):
        rows += provider_rows(provider, outgoing, args.concurrency, DELAY, costs)
    print(f"Postmark again with answers after {args.far * 1000:.0f} ms", flush=True)
    far = provider_rows("postmark", outgoing, args.concurrency, args.far, {})
    table(f"Answer delay {DELAY * 1000:.0f} ms, {args.concurrency} connections, {len(outgoing[0].data) / 1024:.0f} KB messages", rows, "postmark single")
    table(f"Postmark, answer delay {args.far * 1000:.0f} ms (an API across the Pacific)", [r for r in far if "naive" not in r[0]], "postmark single")
    print("\n| adapter | building one request, CPU ms per message |")
    print("|---|---|")
    for provider, cost in costs.items():
        print(f"| {provider} | {cost:.2f} |")


if __name__ == "__main__":
    main()
