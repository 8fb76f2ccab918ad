"""The send reads the subscriber list as a stream: a chunk at a time, never the whole cleaned list.

`stream_clean_list` must give, chunk by chunk, exactly what `clean_list` gives for the whole file
(the same recipients in order, the same rejects with their reasons, the same duplicates with their
first row, the same consent records), whatever the chunk size; and a real send through it must
hold at most a few chunks of recipients at any moment, where the held list holds all of them.
"""

from __future__ import annotations

import csv
import gc
import random
import re
from datetime import date
from pathlib import Path

import pytest
from clikit import ISSUE
from sendkit import sample_project

import webzine.cli.send as send_cli
from webzine.config import load_settings
from webzine.errors import ListError
from webzine.models import Recipient, Suppression, SuppressionReason
from webzine.recipients.clean import clean_list
from webzine.recipients.list_managers import table_columns
from webzine.recipients.stream import stream_clean_list
from webzine.recipients.tables import read_table
from webzine.send.dispatch import SendOptions
from webzine.send.inputs import load_campaign, with_overrides
from webzine.transports.memory import MemoryTransport

TODAY = date(2026, 12, 1)
HEADER = ["email", "name", "adjective", "company", "manager", "consent_at", "tags", "last_order"]


def write_list(path: Path, count: int, seed: int = 5) -> None:
    """`count` rows with what real lists carry: repeats near and far (other case, spaces), bad
    addresses, blank rows, missing and old consent, suppressed addresses."""
    rng = random.Random(seed)
    emails: list[str] = []
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(HEADER)
        for index in range(count):
            roll = rng.random()
            if emails and roll < 0.08:
                email = rng.choice(emails)
                email = f" {email.upper()} " if rng.random() < 0.5 else email
            elif roll < 0.10:
                email = rng.choice(["no-at-sign.example.com", "", "a@@b.com", "김@naver.com"])
            else:
                email = f"reader{index}@{rng.choice(['naver.com', 'gmail.com', 'daum.net', 'example.co.kr'])}"
                emails.append(email)
            if roll > 0.995:
                writer.writerow([])
                continue
            consent = rng.choice(["2026-05-01", "2026-05-01", "", "2019-01-01", "not a date"])
            writer.writerow([email, f"이름{index % 97}", "", rng.choice(["한빛", "푸른"]), rng.choice(["m1", ""]),
                             consent, "vip", "하동 우전"])


def suppressions_for(path: Path) -> dict[str, Suppression]:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    picked = [row[0].strip().lower() for row in rows[::37] if row and "@" in row[0] and "@@" not in row[0]]
    return {key: Suppression(key, SuppressionReason.UNSUBSCRIBED, date(2026, 1, 2), "web") for key in picked}


@pytest.mark.parametrize("advertising", [False, True])
@pytest.mark.parametrize("block_size", [700, 4096, 1 << 20])
def test_the_stream_cleans_exactly_as_the_whole_list_is_cleaned(tmp_path: Path, advertising: bool,
                                                                 block_size: int) -> None:
    path = tmp_path / "subscribers.csv"
    write_list(path, 1500)
    suppressions = suppressions_for(path)
    whole = clean_list(path, suppressions=suppressions, advertising=advertising, today=TODAY)
    streamed = stream_clean_list(lambda: read_table(path, check_encoding_first=False, block_size=block_size),
                                 suppressions=suppressions, advertising=advertising, cutoff=date(2024, 12, 1),
                                 chunk_size=50)
    parts = list(streamed.chunks())
    assert block_size > 1 << 19 or len(parts) > 5
    assert [r for part in parts for r in part.recipients] == whole.recipients
    assert [r for part in parts for r in part.rejects] == whole.rejects
    assert [d for part in parts for d in part.duplicates] == whole.duplicates
    assert [c for part in parts for c in part.consent_reconfirm] == whole.consent_reconfirm
    assert whole.duplicates and whole.rejects and whole.consent_reconfirm  # the list exercises every record
    assert streamed.rows_read == whole.rows_read
    assert streamed.totals == {"kept": whole.kept, "rejected": len(whole.rejects),
                               "duplicates": len(whole.duplicates), "consent_reconfirm": len(whole.consent_reconfirm)}
    assert list(streamed) == whole.recipients  # read again: the same


def test_the_stream_links_the_managers_the_list_names_as_the_cleaner_does(tmp_path: Path) -> None:
    path = tmp_path / "subscribers.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(["email", "name", "account_manager", "account_manager_email"])
        for index in range(600):
            manager = index % 7
            writer.writerow([f"reader{index}@naver.com", "독자", f"담당{manager}" if index > 50 else "",
                             f"Manager{manager}@Example.co.kr" if manager else ""])
    columns = {"manager": "account_manager", "manager_email": "account_manager_email"}
    whole = clean_list(path, advertising=False, today=TODAY, columns=columns)
    streamed = stream_clean_list(
        lambda: read_table(path, check_encoding_first=False, block_size=900, overrides=table_columns(columns)),
        suppressions={}, advertising=False, cutoff=date(2024, 12, 1), columns=columns)
    assert list(streamed) == whole.recipients
    assert streamed.managers == whole.managers and len(whole.managers) == 6


def test_a_list_saved_again_during_a_send_stops_it(tmp_path: Path) -> None:
    """Every pass reads the file the survey read, or stops: rows nobody deduplicated or audited
    are never sent."""
    path = tmp_path / "subscribers.csv"
    write_list(path, 300)
    streamed = stream_clean_list(lambda: read_table(path, check_encoding_first=False, block_size=2048),
                                 suppressions={}, advertising=False, cutoff=date(2024, 12, 1))
    parts = streamed.chunks()
    next(parts)
    with open(path, "a", encoding="utf-8", newline="") as handle:
        handle.write("late@naver.com,늦게,,,,2026-05-01,,\r\n")
    with pytest.raises(ListError, match="the list changed while the send was reading it"):
        list(parts)
    with pytest.raises(ListError, match="the list changed"):
        list(streamed)


def test_a_stream_reports_a_bad_byte_as_the_cleaner_does(tmp_path: Path) -> None:
    path = tmp_path / "subscribers.csv"
    path.write_bytes("email,name\r\n".encode() + b"a@naver.com,\xff\xfe\r\n")
    with pytest.raises(Exception) as whole:
        clean_list(path, advertising=False, today=TODAY)
    with pytest.raises(type(whole.value)) as streamed:
        stream_clean_list(lambda: read_table(path, check_encoding_first=False), suppressions={}, advertising=False,
                          cutoff=date(2024, 12, 1))
    assert str(streamed.value) == str(whole.value)


def live_recipients() -> int:
    """Recipient objects tracked now, the send's frozen ones included (`gc.freeze` hides them). No
    collection first (a full one per sample was most of this test's time in a long-lived worker):
    a Recipient in uncollected garbage is counted as alive, which can only make the count larger."""
    frozen = gc.get_freeze_count()
    gc.unfreeze()
    try:
        return sum(1 for thing in gc.get_objects() if type(thing) is Recipient)
    finally:
        if frozen:
            gc.freeze()


class CountingTransport(MemoryTransport):
    """Accepts everything, keeps nothing, and counts the Recipient objects alive every `every` messages."""

    def __init__(self, every: int) -> None:
        super().__init__()
        self.every, self.sent, self.most_alive = every, 0, 0
        gc.collect()  # garbage an earlier test left in this process is not alive

    def transmit(self, message):  # type: ignore[no-untyped-def]
        delivery = super().transmit(message)
        self.accepted.clear()
        self.handed.clear()
        self.sent += 1
        if self.sent % self.every == 0:
            self.most_alive = max(self.most_alive, live_recipients())
        return delivery


@pytest.mark.parametrize("stream", [True, False])
def test_a_real_send_holds_a_few_chunks_of_the_list_not_all_of_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  stream: bool) -> None:
    """Through the send's own loader and run, 4,000 recipients with the list read ~45 rows at a
    time: the streamed send has a claim's worth alive (512) plus a chunk; the held list has all
    of them (what the dry run still does, and what every send did before)."""
    project = sample_project(tmp_path / "project")
    subscribers = project / "lists" / "subscribers.csv"
    with open(subscribers, "a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        for index in range(4000):
            writer.writerow([f"reader{index}@example.co.kr", "독자", "", "한빛", "m1", "2026-05-01", "vip", "세작"])
    config = project / "webzine.toml"
    config.write_text(re.sub(r"\[dkim\].*?(?=\n\[)", "", config.read_text(encoding="utf-8"), flags=re.S),
                      encoding="utf-8")  # signing is not what this counts
    monkeypatch.setenv("WEBZINE_UNSUBSCRIBE_SECRET", "stream-test-secret")
    settings = with_overrides(load_settings(project / "webzine.toml"), rate=1_000_000)
    campaign = load_campaign(settings, project / ISSUE, today=TODAY, stream=stream, block_size=4096)
    transport = CountingTransport(every=250)
    monkeypatch.setattr(send_cli, "make_transport", lambda _settings: transport)
    summary = send_cli._send_shard(campaign, SendOptions(), None, progress=None, pooled_signing=False)
    assert summary.accepted == transport.sent > 4000
    if stream:
        assert transport.most_alive < 1000
    else:
        assert transport.most_alive > 4000
