"""One-click unsubscribe (RFC 8058) against the real server on 127.0.0.1, and the store's read side."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from serve_support import LIST_ID, SECRET, free_port, running_server, write_project
from webzine.errors import ConfigError
from webzine.models import SuppressionReason
from webzine.unsubscribes.store import load_unsubscribed, store_suppressions
from webzine.web.token_owners import list_id, mask_address, read_addresses
from webzine.web.app import Collaborators
from webzine.unsubscribes import store as unsubscribe_store
from webzine.unsubscribes.store import Store
from webzine.tokens import unsubscribe_token

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def token_for(address: str, *, secret: str = SECRET, list_id_: str = LIST_ID) -> str:
    return unsubscribe_token(secret, list_id_, address)


@pytest.fixture()
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBZINE_UNSUBSCRIBE_SECRET", SECRET)
    return write_project(tmp_path, "[serve]\nnotify = false\n")


@pytest.fixture()
def store(settings):
    opened = Store.from_settings(settings)
    yield opened
    opened.close()


@pytest.fixture()
def server(settings, store):
    with running_server(settings, store, Collaborators(refresh_seconds=0)) as url:
        with httpx.Client(base_url=url, follow_redirects=False, timeout=10) as client:
            yield client


def test_list_id_is_the_sender_domain_unless_set(settings):
    assert list_id(settings) == "example.co.kr"
    explicit = settings.model_copy(
        update={"publication": settings.publication.model_copy(update={"list_id": "News.Example.co.kr"})}
    )
    assert list_id(explicit) == "news.example.co.kr"


def test_get_shows_a_korean_page_and_does_not_unsubscribe(server, store):
    token = token_for("hong@example.com")
    response = server.get(f"/u/{token}")
    assert response.status_code == 200
    assert "초록상회 소식지" in response.text
    assert "ho**" in response.text and "hong@example.com" not in response.text
    assert f'action="/u/{token}"' in response.text and 'method="post"' in response.text
    assert 'name="List-Unsubscribe" value="One-Click"' in response.text
    assert f"/u/{token}/keep" in response.text
    assert store.unsubscribed() == set()
    keep = server.get(f"/u/{token}/keep")
    assert keep.status_code == 200 and "구독이 그대로 유지됩니다" in keep.text
    assert store.unsubscribed() == set()


def test_security_headers_on_every_response(server):
    for response in (server.get(f"/u/{token_for('hong@example.com')}"), server.get("/u/nope"), server.get("/healthz")):
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert server.get(f"/u/{token_for('hong@example.com')}").headers["cache-control"] == "no-store"


def test_one_click_urlencoded_answers_200_without_redirect(server, store):
    response = server.post(
        f"/u/{token_for('hong@example.com')}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "Gmail-One-Click"},
    )
    assert response.status_code == 200
    assert "location" not in response.headers
    assert "수신거부가 처리되었습니다" in response.text
    record = store.get_unsubscribe("hong@example.com")
    assert record is not None and record.source == "one-click" and record.list_id == LIST_ID
    assert record.evidence == {
        "via": "one-click",
        "client": "127.0.0.1",
        "user_agent": "Gmail-One-Click",
        "content_type": "application/x-www-form-urlencoded",
    }


def test_one_click_multipart_answers_200(server, store):
    response = server.post(f"/u/{token_for('kim@example.org')}", files={"List-Unsubscribe": (None, "One-Click")})
    assert response.request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert response.status_code == 200 and "location" not in response.headers
    assert store.unsubscribed() == {"kim@example.org"}
    assert store.get_unsubscribe("kim@example.org").evidence["content_type"] == "multipart/form-data"


def test_no_cookie_csrf_or_origin_is_needed_and_none_is_set(server, store):
    response = server.post(f"/u/{token_for('lee@example.net')}", data=ONE_CLICK)
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert store.unsubscribed() == {"lee@example.net"}


def test_repeated_posts_are_idempotent(server, store, monkeypatch):
    token = token_for("hong@example.com")
    first = server.post(f"/u/{token}", data=ONE_CLICK)
    recorded = store.get_unsubscribe("hong@example.com")
    monkeypatch.setattr(unsubscribe_store, "utcnow", lambda: "2099-01-01T00:00:00+00:00")  # a re-recorded time would differ
    again = server.post(f"/u/{token}", files={"List-Unsubscribe": (None, "One-Click")})
    assert first.status_code == again.status_code == 200
    assert store.count_unsubscribes() == 1
    assert store.get_unsubscribe("hong@example.com") == recorded
    page = server.get(f"/u/{token}")
    assert page.status_code == 200 and "이미 수신거부되어 있습니다" in page.text
    assert 'method="post"' not in page.text


def test_the_page_button_is_recorded_as_web_page(server, store):
    response = server.post(f"/u/{token_for('park@example.com')}", data={**ONE_CLICK, "via": "page"})
    assert response.status_code == 200
    assert store.get_unsubscribe("park@example.com").source == "web-page"


@pytest.mark.slow
def test_concurrent_duplicates_are_recorded_once(server, store):
    token = token_for("hong@example.com")
    statuses: list[int] = []

    def post() -> None:
        with httpx.Client(base_url=str(server.base_url), timeout=10) as client:
            statuses.extend(client.post(f"/u/{token}", data=ONE_CLICK).status_code for _ in range(5))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert statuses == [200] * 40
    assert store.count_unsubscribes() == 1


def bad_tokens() -> dict[str, str]:
    good = token_for("hong@example.com")
    flipped = good[:10] + ("A" if good[10] != "A" else "B") + good[11:]
    return {
        "unknown address": token_for("stranger@example.com"),
        "forged with another secret": token_for("hong@example.com", secret="guessed-secret"),
        "another list": token_for("hong@example.com", list_id_="other.example.com"),
        "truncated": good[:-1],
        "altered": flipped,
        "extended": good + "A",
        "garbage": "../../etc/passwd",
    }


def test_every_bad_token_gets_the_same_404(server, store):
    answers = set()
    for name, token in bad_tokens().items():
        for response in (
            server.get(f"/u/{token}"),
            server.post(f"/u/{token}", data=ONE_CLICK),
            server.get(f"/u/{token}/keep"),
        ):
            assert response.status_code == 404, name
            answers.add(response.text)
    assert len(answers) == 1
    assert "페이지를 찾을 수 없습니다" in answers.pop()
    assert store.unsubscribed() == set()


def test_a_post_without_the_one_click_field_is_refused(server, store):
    token = token_for("hong@example.com")
    for kwargs in (
        {"data": {"List-Unsubscribe": "Yes"}},
        {"content": b"", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        {"content": b"{}", "headers": {"Content-Type": "application/json"}},
        {"content": b"--x\r\nbroken", "headers": {"Content-Type": "multipart/form-data; boundary=y"}},
    ):
        response = server.post(f"/u/{token}", **kwargs)
        assert response.status_code == 400
    assert store.unsubscribed() == set()


def test_oversized_bodies_get_413(server, store, settings):
    token = token_for("hong@example.com")
    big = b"List-Unsubscribe=One-Click&pad=" + b"x" * settings.serve.max_body_bytes
    declared = server.post(f"/u/{token}", content=big, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert declared.status_code == 413

    def chunks():
        yield b"List-Unsubscribe=One-Click&pad="
        for _ in range(settings.serve.max_body_bytes // 4096 + 2):
            yield b"x" * 4096

    with httpx.Client(base_url=str(server.base_url), timeout=10) as client:
        streamed = client.post(f"/u/{token}", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert "content-length" not in streamed.request.headers  # sent chunked: no size known up front
    assert streamed.status_code == 413
    assert store.unsubscribed() == set()


def test_rate_limit_per_client(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBZINE_UNSUBSCRIBE_SECRET", SECRET)
    settings = write_project(tmp_path, "[serve]\nnotify = false\nrate_limit_per_minute = 5\n")
    store = Store.from_settings(settings)
    try:
        with running_server(settings, store) as url, httpx.Client(base_url=url) as client:
            statuses = [client.get(f"/u/{token_for('hong@example.com')}").status_code for _ in range(7)]
            limited = client.get("/u/x")
        assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert "잠시 후 다시 시도해 주세요" in limited.text
    finally:
        store.close()


def test_list_changes_are_picked_up(server, store, settings):
    newcomer = "choi@example.com"
    assert server.get(f"/u/{token_for(newcomer)}").status_code == 404
    path = settings.path(settings.lists.subscribers)
    path.write_text(path.read_text(encoding="utf-8") + f"{newcomer},최영\n", encoding="utf-8")
    assert server.post(f"/u/{token_for(newcomer)}", data=ONE_CLICK).status_code == 200
    assert newcomer in store.unsubscribed()


def test_an_unsubscribed_reader_removed_from_the_list_still_resolves(server, store, settings):
    server.post(f"/u/{token_for('hong@example.com')}", data=ONE_CLICK)
    path = settings.path(settings.lists.subscribers)
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(line for line in lines if "hong@" not in line) + "\n", encoding="utf-8")
    page = server.get(f"/u/{token_for('hong@example.com')}")
    assert page.status_code == 200 and "이미 수신거부되어 있습니다" in page.text


def test_cp949_list_files_are_read(tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes("email,name\nHong@Example.com,홍길동\n".encode("cp949"))
    assert read_addresses(path) == ["hong@example.com"]


def test_masking_hides_most_of_the_local_part():
    assert mask_address("hong.gildong@example.co.kr") == "ho**********@example.co.kr"
    assert mask_address("ab@example.com") == "a***@example.com"


def test_read_side_for_send_and_suppressions_pull(settings, store):
    assert load_unsubscribed(settings) == set()
    store.record_unsubscribe("Hong@Example.com", LIST_ID, "one-click", {})
    assert load_unsubscribed(settings) == {"hong@example.com"}
    rows = store_suppressions(settings)
    assert [(r.email, r.reason, r.source) for r in rows] == [
        ("hong@example.com", SuppressionReason.UNSUBSCRIBED, "serve:one-click")
    ]
    assert rows[0].since is not None


def test_no_store_yet_means_nobody_unsubscribed(tmp_path, monkeypatch):
    settings = write_project(tmp_path)
    assert load_unsubscribed(settings) == set() and store_suppressions(settings) == []
    assert not Path(settings.path(settings.serve.store)).exists()


def test_an_unknown_database_url_is_refused_not_faked(tmp_path):
    settings = write_project(tmp_path, '[serve]\nstore = "mysql://db.internal/webzine"\n')
    with pytest.raises(ConfigError, match=r"'mysql://' URLs are not supported; use a SQLite file or postgresql://"):
        load_unsubscribed(settings)


def test_a_missing_secret_stops_the_server_before_it_starts(tmp_path, monkeypatch):
    monkeypatch.delenv("WEBZINE_UNSUBSCRIBE_SECRET", raising=False)
    settings = write_project(tmp_path)
    store = Store.from_settings(settings)
    try:
        with pytest.raises(ConfigError, match="WEBZINE_UNSUBSCRIBE_SECRET"):
            with running_server(settings, store):
                pass
    finally:
        store.close()


def run_webzine(settings, *args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from webzine.cli import main; main()", "--config", str(settings.root / "webzine.toml"), *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


@pytest.mark.slow
def test_serve_command_refuses_to_start_without_the_secret(settings):
    env = {k: v for k, v in os.environ.items() if k != "WEBZINE_UNSUBSCRIBE_SECRET"}
    process = run_webzine(settings, "serve", "--port", str(free_port()), env=env)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert stderr.splitlines()[0] == (
        "Error: The environment variable WEBZINE_UNSUBSCRIBE_SECRET (unsubscribe and feedback tokens) is not set."
    )


@pytest.mark.slow
def test_serve_command_serves_until_stopped(settings, store):
    port = free_port()
    process = run_webzine(settings, "serve", "--port", str(port), env={**os.environ, "WEBZINE_UNSUBSCRIBE_SECRET": SECRET})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
                time.sleep(0.1)
        assert health.status_code == 200 and health.text == "ok"
        one_click = httpx.post(f"http://127.0.0.1:{port}/u/{token_for('kim@example.org')}", data=ONE_CLICK)
        assert one_click.status_code == 200
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert "the ses webhook is off: [ses] sns_topic_arns is empty" in stderr
    assert "Application shutdown complete" in stderr
    assert store.unsubscribed() == {"kim@example.org"}


@pytest.mark.slow
def test_a_burst_of_concurrent_one_clicks_records_every_address_once(tmp_path, monkeypatch):
    """The load bench in miniature: 20 keep-alive clients, 600 POSTs over 400 addresses (200
    repeats, mixed encodings); none lost, none twice."""
    monkeypatch.setenv("WEBZINE_UNSUBSCRIBE_SECRET", SECRET)
    addresses = [f"reader{n:03d}@example.com" for n in range(400)]
    settings = write_project(tmp_path, "[serve]\nnotify = false\nrate_limit_per_minute = 100000\n", addresses)
    order = addresses + addresses[::2]
    store = Store.from_settings(settings)

    async def burst(url: str) -> list[int]:
        queue = list(order)
        statuses: list[int] = []

        async def client() -> None:
            async with httpx.AsyncClient(base_url=url, timeout=10) as http:
                while queue:
                    n = len(queue)
                    token = token_for(queue.pop())
                    if n % 2:
                        response = await http.post(f"/u/{token}", data=ONE_CLICK)
                    else:
                        response = await http.post(f"/u/{token}", files={"List-Unsubscribe": (None, "One-Click")})
                    statuses.append(response.status_code)

        await asyncio.wait_for(asyncio.gather(*(client() for _ in range(20))), timeout=60)
        return statuses

    try:
        with running_server(settings, store) as url:
            statuses = asyncio.run(burst(url))
        assert statuses == [200] * len(order)
        assert store.count_unsubscribes() == len(addresses)
        assert store.unsubscribed() == set(addresses)
    finally:
        store.close()


def test_a_list_whose_email_column_is_mapped_still_resolves_its_unsubscribe_links(tmp_path, monkeypatch):
    """`[lists.columns] email = "수신 메일 주소"`: the send mails that column, so the service must read it."""
    monkeypatch.setenv("WEBZINE_UNSUBSCRIBE_SECRET", SECRET)
    mapped = write_project(tmp_path, '[serve]\nnotify = false\n\n[lists.columns]\nemail = "수신 메일 주소"\n')
    path = mapped.path(mapped.lists.subscribers)
    path.write_text(path.read_text(encoding="utf-8").replace("email,", "수신 메일 주소,", 1), encoding="utf-8")
    opened = Store.from_settings(mapped)
    try:
        with running_server(mapped, opened, Collaborators(refresh_seconds=0)) as url:
            page = httpx.get(f"{url}/u/{token_for('hong@example.com')}", timeout=10)
    finally:
        opened.close()
    assert page.status_code == 200 and "ho**" in page.text
