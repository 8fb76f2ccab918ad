"""`webzine suppressions pull`: each provider's suppression list, read page by page from a local
server that answers in the provider's documented shapes, merged into lists/suppressions.csv."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from api_servers import DEFAULTS, ApiServer
from clikit import Run, run_here
from conftest import write_config
from webzine.config import load_settings
from webzine.errors import SenderProblem
from webzine.models import SuppressionReason
from webzine.providers.base import provider_suppressions
from webzine.unsubscribes.store import Store
from webzine.transports.http import build_client
from webzine.providers.mailgun import MailgunTransport
from webzine.providers.postmark import PostmarkTransport
from webzine.providers.sendgrid import SendGridTransport
from webzine.providers.ses import SesTransport
from webzine.providers.sigv4 import Credentials

EPOCH = 1_764_547_200  # 2025-12-01 00:00 UTC
LISTED = [
    {"email": "gone@example.com", "reason": "hard_bounce", "epoch": EPOCH, "at": "2025-12-01T09:00:00Z", "rfc822": "Mon, 01 Dec 2025 09:00:00 UTC", "detail": "550 5.1.1 user unknown"},
    {"email": "angry@example.com", "reason": "complaint", "epoch": EPOCH, "at": "2025-12-01T09:00:00Z", "rfc822": "Mon, 01 Dec 2025 09:00:00 UTC"},
    {"email": "Bye@Example.com", "reason": "unsubscribed", "epoch": EPOCH, "rfc822": "Mon, 01 Dec 2025 09:00:00 UTC"},
    {"email": "blocked@example.com", "reason": "manual", "at": "2025-12-01T09:00:00Z", "origin": "Customer"},
    {"email": "left@example.com", "reason": "manual", "at": "2025-12-01T09:00:00Z", "origin": "Recipient"},
]
MANY = [{"email": f"b{i}@example.com", "reason": "hard_bounce", "epoch": EPOCH, "at": "2025-12-01T09:00:00Z"} for i in range(1234)]


def build(provider: str, url: str):  # type: ignore[no-untyped-def]
    client = build_client(url, timeout=5, connections=1)
    if provider == "sendgrid":
        return SendGridTransport(client, api_key="test-token")
    if provider == "mailgun":
        return MailgunTransport(client, api_key="test-token", domain=DEFAULTS["domain"])
    if provider == "postmark":
        return PostmarkTransport(client, token="test-token", stream="broadcast")
    return SesTransport(client, credentials=Credentials(DEFAULTS["access_key"], DEFAULTS["secret_key"]), region=DEFAULTS["region"])


@pytest.fixture(scope="module", params=["sendgrid", "mailgun", "postmark", "ses"])
def server(request: pytest.FixtureRequest) -> Iterator[ApiServer]:
    handle = ApiServer(request.param)
    yield handle
    handle.stop()


EXPECTED = {
    "sendgrid": {"gone@example.com": SuppressionReason.HARD_BOUNCE, "angry@example.com": SuppressionReason.COMPLAINT, "Bye@Example.com": SuppressionReason.UNSUBSCRIBED},
    "mailgun": {"gone@example.com": SuppressionReason.HARD_BOUNCE, "angry@example.com": SuppressionReason.COMPLAINT, "Bye@Example.com": SuppressionReason.UNSUBSCRIBED},
    "postmark": {"gone@example.com": SuppressionReason.HARD_BOUNCE, "angry@example.com": SuppressionReason.COMPLAINT, "blocked@example.com": SuppressionReason.MANUAL, "left@example.com": SuppressionReason.UNSUBSCRIBED},
    "ses": {"gone@example.com": SuppressionReason.HARD_BOUNCE, "angry@example.com": SuppressionReason.COMPLAINT},
}


@pytest.mark.slow
def test_each_provider_list_becomes_suppressions_with_evidence(server: ApiServer) -> None:
    server.configure(suppressions=LISTED)
    found = {s.email: s for s in provider_suppressions(build(server.provider, server.url))}
    assert {email: s.reason for email, s in found.items()} == EXPECTED[server.provider]
    gone = found["gone@example.com"]
    assert gone.source == server.provider and gone.since == date(2025, 12, 1)
    assert gone.detail, "the provider's words are kept as evidence"
    assert all(request["method"] == "GET" for request in server.received()["requests"])


def test_every_page_is_read(server: ApiServer) -> None:
    if server.provider == "postmark":
        pytest.skip("Postmark's dump is a single answer")
    server.configure(suppressions=MANY, record_bodies=False)
    found = [s.email for s in provider_suppressions(build(server.provider, server.url))]
    assert sorted(found) == sorted(row["email"] for row in MANY)
    assert len(server.received()["requests"]) >= 2


def test_a_refused_key_stops_with_the_providers_answer(server: ApiServer) -> None:
    server.configure(token="other", secret_key="other", suppressions=LISTED)
    with pytest.raises(SenderProblem, match="HTTP 40[13]"):
        list(provider_suppressions(build(server.provider, server.url)))




def webzine(project: Path, *args: str, token: str | None = "test-token") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "POSTMARK_SERVER_TOKEN"}
    if token is not None:
        env["POSTMARK_SERVER_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-c", "from webzine.cli import main; main()", "--config", str(project / "webzine.toml"), *args],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )


@pytest.fixture
def here(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """`webzine` in this process, for what a pull merges (the exit codes are the errors test's, on
    real processes)."""
    run = run_here(monkeypatch, capsys)
    return lambda project, *args: run(project, "--config", str(project / "webzine.toml"), *args,
                                      env={"POSTMARK_SERVER_TOKEN": "test-token"})


@pytest.fixture()
def project(tmp_path: Path) -> Iterator[tuple[Path, ApiServer]]:
    handle = ApiServer("postmark")
    handle.configure(suppressions=LISTED)
    write_config(tmp_path, f'[postmark]\nbase_url = "{handle.url}"')
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists/suppressions.csv").write_text("email,reason,since,source,detail\ngone@example.com,unsubscribed,2025-01-05,serve,one-click\n", encoding="utf-8")
    yield tmp_path, handle
    handle.stop()


@pytest.mark.slow
def test_cli_pull_merges_once_and_a_second_pull_adds_nothing(project: tuple[Path, ApiServer], here: Run) -> None:
    path, _ = project
    first = here(path, "suppressions", "pull", "--provider", "postmark")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == (
        f"webzine serve + postmark: 4 suppressions (complaint 1, hard_bounce 1, manual 1, unsubscribed 1) → {path.resolve() / 'lists/suppressions.csv'}: "
        "3 added, 0 with a stronger reason, 1 already listed."
    )
    with open(path / "lists/suppressions.csv", encoding="utf-8-sig", newline="") as handle:
        rows = {row["email"]: row for row in csv.DictReader(handle)}
    assert rows["gone@example.com"]["reason"] == "unsubscribed", "an unsubscribe outranks the provider's bounce"
    assert rows["angry@example.com"]["source"] == "postmark" and rows["angry@example.com"]["since"] == "2025-12-01"
    again = here(path, "suppressions", "pull", "--provider", "postmark")
    assert again.returncode == 0 and "0 added, 0 with a stronger reason, 4 already listed." in again.stdout


@pytest.mark.slow
def test_cli_errors_are_one_line_with_the_documented_exit_codes(project: tuple[Path, ApiServer]) -> None:
    path, _ = project
    refused = webzine(path, "suppressions", "pull", "--provider", "postmark", token="wrong-key-4f9a2c")
    assert refused.returncode == 3
    assert "wrong-key-4f9a2c" not in refused.stderr + refused.stdout, "an API key never appears in output"
    assert refused.stderr.splitlines()[0].startswith("Error: postmark refused the request with HTTP 401 at http://127.0.0.1:")
    missing = webzine(path, "suppressions", "pull", "--provider", "postmark", token=None)
    assert missing.returncode == 2
    assert missing.stderr.splitlines()[0] == "Error: The environment variable POSTMARK_SERVER_TOKEN (Postmark server token) is not set."
    default = webzine(path, "suppressions", "pull")  # [send] transport is the outbox: no provider to ask
    assert default.returncode == 0 and default.stdout.startswith("webzine serve: 0 suppressions (none)")
    dry = webzine(path, "suppressions", "pull", "--provider", "postmark", "--dry-run")
    assert dry.returncode == 0 and "dry run" in dry.stdout


@pytest.mark.slow
def test_cli_pull_merges_what_webzine_serve_recorded(project: tuple[Path, ApiServer], here: Run) -> None:
    """One-click unsubscribes recorded by the service reach lists/suppressions.csv (and so the
    cleaner and the audit) with their evidence, once."""
    path, _ = project
    settings = load_settings(path / "webzine.toml")
    store = Store.from_settings(settings)
    try:
        store.record_unsubscribe("oneclick@example.com", "news.example.co.kr", "one-click",
                                 {"user_agent": "Gmail"}, notify=False)  # fmt: skip
    finally:
        store.close()
    first = here(path, "suppressions", "pull")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("webzine serve: 1 suppressions (unsubscribed 1)") and "1 added" in first.stdout
    with open(path / "lists/suppressions.csv", encoding="utf-8-sig", newline="") as handle:
        rows = {row["email"]: row for row in csv.DictReader(handle)}
    assert rows["oneclick@example.com"]["reason"] == "unsubscribed"
    again = here(path, "suppressions", "pull")
    assert "0 added" in again.stdout and "1 already listed" in again.stdout
