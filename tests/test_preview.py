"""`webzine preview` on a copy of the sample publication.

Three tiers: the model (personalisation, search, the frame's dark mode and image guard); the
server in a thread (what it answers, what it refuses, how it survives a broken save, a missing list
and a taken port); and the real command in a subprocess driven by headless Chromium, which saves
screenshots to build/<slug>/screenshots/preview-*.png for people to look at."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import TODAY

from webzine.render.layout import BUILTIN_TEMPLATES
from webzine.web.preview import Snapshot, Workspace, personalise, recipient_id, search
from webzine.web.preview_server import PreviewServer, frame_html

pytestmark = pytest.mark.slow  # the preview server and the webzine CLI in subprocesses

REPO = Path(__file__).resolve().parent.parent
SLUG = "2026-12-year-end"
SCREENSHOTS = REPO / "build" / SLUG / "screenshots"
GREETING_LINE = "{{ recipient|greeting }}, 안녕하세요. 초록상회 대표 한지원입니다."
# One more line, so a particle follows a bare name (the sample's own particles follow "님").
PARTICLE_LINE = GREETING_LINE + '\n\n{{ recipient.name|josa("은") }} 올해도 초록상회의 차와 함께해 주셨습니다.'


def copy_sample(root: Path) -> Path:
    """The sample publication (config, issue, lists) in a temporary folder, with the particle line."""
    root.mkdir(parents=True)
    shutil.copy(REPO / "webzine.toml", root / "webzine.toml")
    shutil.copytree(REPO / "issues", root / "issues")
    shutil.copytree(REPO / "lists", root / "lists")
    issue = root / "issues" / f"{SLUG}.md"
    text = issue.read_text(encoding="utf-8")
    assert GREETING_LINE in text
    issue.write_text(text.replace(GREETING_LINE, PARTICLE_LINE), encoding="utf-8")
    return root


def save(path: Path, text: str) -> None:
    """Write as an editor's save does, and make sure the modification time moves."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


def wait_for(condition: Callable[[], object], what: str, timeout: float = 15.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_sample(tmp_path / "publication")


def workspace_of(project: Path) -> Workspace:
    return Workspace(project / "webzine.toml", project / "issues" / f"{SLUG}.md", today=TODAY)


def by_name(snapshot: Snapshot, name: str):  # type: ignore[no-untyped-def]
    return next(r for r in snapshot.recipients if r.name == name)


# -- the model ---------------------------------------------------------------------------------


def test_each_recipient_gets_their_greeting_particle_and_manager(project: Path) -> None:
    snapshot = workspace_of(project).refresh()
    assert snapshot.error is None and snapshot.notices == ()
    vowel = personalise(snapshot, by_name(snapshot, "김갑수"))  # 수: no final consonant
    consonant = personalise(snapshot, by_name(snapshot, "황보영"))  # 영: final ㅇ
    assert "생각 깊은 김갑수 님, 안녕하세요." in vowel.html and "김갑수는 올해도" in vowel.html
    assert "꼼꼼한 황보영 님, 안녕하세요." in consonant.html and "황보영은 올해도" in consonant.html
    assert "김갑수는 올해도" in vowel.text and "황보영은 올해도" in consonant.text
    assert vowel.subject == "(광고) 김갑수 님께 드리는 초록상회 12월 소식"
    assert "정다솔" in vowel.html and vowel.reply_to == "dasol.jung@example.co.kr"  # manager m1
    assert "윤재민" in consonant.html and consonant.reply_to == "jaemin.yoon@example.co.kr"  # m2
    assert vowel.sender_name == "초록상회" and vowel.preheader.startswith("서리를 이겨 낸")
    assert snapshot.default_id == recipient_id(by_name(snapshot, "김갑수"))  # [build] sample_recipient


def test_search_finds_by_name_email_or_company_and_only_cleaned_recipients(project: Path) -> None:
    snapshot = workspace_of(project).refresh()
    assert [r.name for r in search(snapshot, "황보")[1]] == ["황보영"]
    assert [r.name for r in search(snapshot, "CHEOL.LEE")[1]] == ["이철"]
    assert [r.name for r in search(snapshot, "세무 회계")[1]] == ["이철"]
    assert search(snapshot, "gaeun.moon")[0] == 0  # unsubscribed: a send would skip them too
    assert search(snapshot, "")[0] == len(snapshot.recipients) == 53
    assert snapshot.excluded > 0


def test_an_issue_save_reuses_the_cleaned_list_and_a_list_save_reloads_it(project: Path) -> None:
    workspace = workspace_of(project)
    first = workspace.refresh()
    issue = project / "issues" / f"{SLUG}.md"
    save(issue, issue.read_text(encoding="utf-8") + "\n한 줄 더.\n")
    assert workspace.changed()
    second = workspace.refresh()
    assert second.version == 2 and second.recipients is first.recipients  # not cleaned again
    subscribers = project / "lists" / "subscribers.csv"
    save(subscribers, subscribers.read_text(encoding="utf-8").replace("황보영", "황보영희"))
    third = workspace.refresh()
    assert [r.name for r in search(third, "황보")[1]] == ["황보영희"]
    assert not workspace.changed()


def test_the_frame_forces_the_dark_rules_and_holds_back_personal_images() -> None:
    html = (
        "<html><head><style>@media (prefers-color-scheme: dark) { .a { color: #fff } }"
        "@media (prefers-color-scheme: light) { .a { color: #000 } }</style></head><body>"
        '<img src="https://cdn.example.com/logo.png"><img src="https://t.example.com/o.gif?e=kim%40example.com">'
        "</body></html>"
    )
    shared = frozenset({"https://cdn.example.com/logo.png"})
    dark = frame_html(html, scheme="dark", shared_images=shared)
    assert "@media (min-width: 0px) { .a { color: #fff } }" in dark
    assert "@media (max-width: -1px) { .a { color: #000 } }" in dark
    assert "color-scheme: dark" in dark and '<base target="_blank">' in dark
    assert "https://cdn.example.com/logo.png" in dark
    assert "kim%40example.com" not in dark and 'data-held-back="personal"' in dark
    own = frame_html('<img src="https://news.example.co.kr/x/images/a.png">', scheme="light", shared_images=shared,
                     web_url="https://news.example.co.kr/x/")  # fmt: skip
    assert '<img src="/issue/images/a.png">' in own  # the issue's images show before they are published
    light = frame_html(html, scheme="light", shared_images=shared)
    assert "@media (max-width: -1px) { .a { color: #fff } }" in light


# -- the server --------------------------------------------------------------------------------


@pytest.fixture
def serve(project: Path) -> Iterator[Callable[..., PreviewServer]]:
    started: list[PreviewServer] = []

    def start(port: int = 0) -> PreviewServer:
        server = PreviewServer(workspace_of(project), port=port, poll_seconds=0.05)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def get(url: str, host: str | None = None) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def state(server: PreviewServer) -> dict:  # type: ignore[type-arg]
    return json.loads(get(server.url + "api/state")[1])


def next_build(server: PreviewServer, after: int) -> dict:  # type: ignore[type-arg]
    return wait_for(lambda: (s := state(server))["version"] > after and s, f"build #{after + 1}")  # type: ignore[return-value]


def test_the_server_serves_the_page_the_api_and_the_issue_images(serve: Callable[..., PreviewServer]) -> None:
    server = serve()
    status, body, headers = get(server.url)
    assert status == 200 and b'id="recipient-search"' in body
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer" and headers["Cache-Control"] == "no-store"
    data = state(server)
    assert data["error"] is None and data["issue"]["title"] == "한 해를 돌아보며"
    assert data["source"]["lines"][7] == GREETING_LINE and data["lint"]["ok"] is True
    found = json.loads(get(server.url + "api/recipients?q=" + urllib.request.quote("세무회계"))[1])
    assert [m["name"] for m in found["matches"]] == ["이철"] and found["matches"][0]["manager"]["name"] == "윤재민"
    message = json.loads(get(server.url + f"api/message?r={found['matches'][0]['id']}")[1])
    assert message["subject"] == "(광고) 이철 님께 드리는 초록상회 12월 소식" and "이철은 올해도" in message["text"]
    status, body, headers = get(server.url + f"issue/email.html?r={found['matches'][0]['id']}&scheme=dark")
    assert status == 200 and "든든한 이철 님, 안녕하세요." in body.decode("utf-8")
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    status, body, headers = get(server.url + "issue/images/hadong-tea-field.png")
    assert status == 200 and headers["Content-Type"] == "image/png"


def test_the_server_refuses_other_hosts_and_files_outside_the_issue_folder(serve: Callable[..., PreviewServer]) -> None:
    server = serve()
    assert get(server.url + "api/state", host="attacker.example")[0] == 403  # DNS rebinding
    assert get(server.url + "api/state", host=f"localhost:{server.port}")[0] == 200
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    for path in ("/issue/../webzine.toml", "/issue/%2e%2e/lists/subscribers.csv", "/assets/../preview.py"):
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        assert response.status == 404, path
    assert server.host == "127.0.0.1"


def test_the_event_stream_announces_each_rebuild(project: Path, serve: Callable[..., PreviewServer]) -> None:
    server = serve()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/events")
    response = connection.getresponse()
    assert response.getheader("Content-Type").startswith("text/event-stream")
    assert response.readline() == b"id: 1\n" and response.readline() == b"event: build\n"
    response.readline(), response.readline()
    issue = project / "issues" / f"{SLUG}.md"
    save(issue, issue.read_text(encoding="utf-8") + "\n덧붙인 한 줄.\n")
    assert response.readline() == b"id: 2\n"
    connection.close()


def test_a_broken_template_shows_its_error_keeps_the_last_page_and_recovers(
    project: Path, serve: Callable[..., PreviewServer]
) -> None:
    server = serve()
    templates = project / "templates"
    templates.mkdir()
    builtin = (BUILTIN_TEMPLATES / "email.html.j2").read_text(encoding="utf-8")
    save(templates / "email.html.j2", builtin.replace("</body>", "{% if %}</body>", 1))
    broken = next_build(server, 1)
    assert broken["error"]["message"].startswith(f"{templates / 'email.html.j2'}:")
    assert "fix the template" in broken["error"]["message"] and broken["stale"] is True
    status, body, _ = get(server.url + "issue/email.html")
    assert status == 200 and "한지원입니다" in body.decode("utf-8"), "the last good page stays"
    save(templates / "email.html.j2", builtin)
    fixed = next_build(server, broken["version"])
    assert fixed["error"] is None and fixed["stale"] is False


def test_a_broken_config_is_shown_and_recovers(project: Path, serve: Callable[..., PreviewServer]) -> None:
    server = serve()
    config = project / "webzine.toml"
    good = config.read_text(encoding="utf-8")
    save(config, good.replace("[send]", "[send]\nrat = 20"))
    broken = next_build(server, 1)
    assert broken["error"]["message"].startswith(f"{config}:")
    assert "unknown key 'rat' in [send]; did you mean 'rate'?" in broken["error"]["message"]
    save(config, good)
    assert next_build(server, broken["version"])["error"] is None


def test_an_issue_error_links_to_its_line(project: Path, serve: Callable[..., PreviewServer]) -> None:
    server = serve()
    issue = project / "issues" / f"{SLUG}.md"
    save(issue, issue.read_text(encoding="utf-8").replace("{{ recipient|greeting }}", "{{ recipient.nmae }}"))
    broken = next_build(server, 1)
    assert broken["error"]["line"] == 8
    assert "unknown merge field 'recipient.nmae'; did you mean 'recipient.name'?" in broken["error"]["message"]


def test_a_missing_list_previews_the_sample_and_recovers_when_it_is_back(
    project: Path, serve: Callable[..., PreviewServer]
) -> None:
    server = serve()
    subscribers = project / "lists" / "subscribers.csv"
    kept = subscribers.read_text(encoding="utf-8")
    subscribers.unlink()
    missing = next_build(server, 1)
    assert missing["error"] is None and missing["recipients"]["count"] == 1
    (notice,) = missing["notices"]
    assert notice["level"] == "warning"
    assert notice["message"] == f"{subscribers}: no such file; previewing as the sample recipient 김갑수 until the list is fixed."
    save(subscribers, kept)
    back = next_build(server, missing["version"])
    assert back["notices"] == [] and back["recipients"]["count"] == 53


def test_a_taken_port_moves_to_the_next_one_and_says_so(serve: Callable[..., PreviewServer]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = serve(port)
        assert server.port != port
        (notice,) = state(server)["notices"]
        assert notice["message"] == (
            f"127.0.0.1:{port} is already in use (another preview or program); serving on 127.0.0.1:{server.port} instead."
        )


# -- the command -------------------------------------------------------------------------------


class Running:
    """`webzine preview` in a subprocess; its output is collected by a reader thread."""

    def __init__(self, project: Path, *args: str) -> None:
        command = [sys.executable, "-c", "from webzine.cli import main; main()", "preview",
                   f"issues/{SLUG}.md", "--no-open", *args]  # fmt: skip
        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(command, cwd=project, env=environment, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        match = wait_for(lambda: next((m for m in map(_URL.search, self.lines) if m), None), "the preview's URL", 30)
        self.url: str = match.group(0)  # type: ignore[union-attr]

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=15)
        self._reader.join(timeout=5)
        return code


_URL = re.compile(r"http://127\.0\.0\.1:\d+/\S*")


def test_cli_serves_prints_each_build_and_stops_cleanly(project: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        running = Running(project, "--port", str(port), "--as", "cheol.lee@example.co.kr")
        try:
            assert "Error" not in running.output
            assert f"Warning: 127.0.0.1:{port} is already in use (another preview or program); serving on" in running.output
            lee = recipient_id(next(r for r in workspace_of(project).refresh().recipients if r.name == "이철"))
            assert running.url.endswith(f"/?r={lee}")
            assert re.search(r"\[\d\d:\d\d:\d\d\] build #1 in \d+\.\d\d s: lint ok \(0 error\(s\), 0 warning\(s\)\)", running.output)
            issue = project / "issues" / f"{SLUG}.md"
            good = issue.read_text(encoding="utf-8")
            save(issue, good.replace("{{ recipient|greeting }}", "{{ recipient.nmae }}"))
            wait_for(lambda: "build #2 failed" in running.output, "the failed build on the terminal")
            wait_for(lambda: "unknown merge field 'recipient.nmae'" in running.output, "the error on the terminal")
            save(issue, good)
            wait_for(lambda: re.search(r"build #3 in .* — fixed", running.output), "the recovery on the terminal")
        finally:
            code = running.stop()
    assert code == 0 and running.lines[-1] == "Preview stopped."


def test_cli_refuses_a_missing_issue_and_an_unknown_recipient(project: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", "from webzine.cli import main; main()", "preview", *args, "--no-open", "--port", "0"]
        return subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=60)

    missing = run("issues/2026-13-nothing.md")
    assert missing.returncode == 2
    assert missing.stderr.splitlines() == [
        "Error: issues/2026-13-nothing.md: no such issue file.", "Hint: webzine new TITLE creates one.",
    ]  # fmt: skip
    unknown = run(f"issues/{SLUG}.md", "--as", "nobody@example.com")
    assert unknown.returncode == 2
    assert unknown.stderr.splitlines()[-1] == (
        "Error: nobody@example.com is not on the cleaned list; check the spelling, or run webzine lists clean "
        "to see whether it was rejected or suppressed."
    )


# -- in a real browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, Path]]:
    project = copy_sample(tmp_path_factory.mktemp("preview") / "publication")
    running = Running(project, "--port", str(free_port()))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield running, project
    finally:
        assert running.stop() == 0


@pytest.fixture
def page(browser: object, live: tuple[Running, Path]) -> Iterator[object]:
    running, _ = live
    context = browser.new_context(viewport={"width": 1400, "height": 900}, color_scheme="light")  # type: ignore[attr-defined]
    opened = context.new_page()
    # Remote images (example.* hosts) are not fetched: the check must not depend on the network.
    opened.route("**/*", lambda route: route.continue_() if route.request.url.startswith(running.url.split("?")[0]) else route.abort())
    opened.goto(running.url, wait_until="load", timeout=20_000)
    opened.wait_for_selector(".recipient-option", timeout=20_000)
    yield opened
    context.close()


def shoot(page: object, name: str) -> None:
    path = SCREENSHOTS / f"preview-{name}.png"
    page.wait_for_timeout(200)  # type: ignore[attr-defined]
    page.screenshot(path=str(path))  # type: ignore[attr-defined]
    assert path.stat().st_size > 10_000


def frame_text(page: object):  # type: ignore[no-untyped-def]
    return page.frame_locator("#frame").locator("body")  # type: ignore[attr-defined]


def choose(page: object, query: str, name: str) -> None:
    """Search, wait for the list to show only `name` (not the previous search's one), pick it."""
    from playwright.sync_api import expect

    page.fill("#recipient-search", query)  # type: ignore[attr-defined]
    option = page.locator(".recipient-option")  # type: ignore[attr-defined]
    expect(option).to_have_count(1, timeout=10_000)
    expect(option).to_contain_text(name)
    option.click()
    expect(page.locator("#card-name")).to_have_text(name)  # type: ignore[attr-defined]


@pytest.mark.browser
def test_the_page_loads_with_the_inbox_row_and_the_sample_recipient(page: object) -> None:
    from playwright.sync_api import expect

    expect(frame_text(page)).to_contain_text("생각 깊은 김갑수 님, 안녕하세요.", timeout=15_000)
    expect(page.locator("#issue-title")).to_have_text("한 해를 돌아보며")  # type: ignore[attr-defined]
    expect(page.locator(".inbox-sender")).to_have_text("초록상회")  # type: ignore[attr-defined]
    expect(page.locator(".inbox-subject")).to_have_text("(광고) 김갑수 님께 드리는 초록상회 12월 소식")  # type: ignore[attr-defined]
    expect(page.locator(".inbox-preheader")).to_contain_text("서리를 이겨 낸 올해의 차 이야기")  # type: ignore[attr-defined]
    expect(page.locator("#recipient-card")).to_contain_text("정다솔")  # type: ignore[attr-defined]
    expect(page.locator("#lint-ok")).to_contain_text("문제 없음")  # type: ignore[attr-defined]
    shoot(page, "desktop")


@pytest.mark.browser
def test_switching_recipients_changes_the_greeting_and_its_particle(page: object) -> None:
    from playwright.sync_api import expect

    choose(page, "황보", "황보영")  # 황보영: ends in a consonant (ㅇ)
    expect(frame_text(page)).to_contain_text("꼼꼼한 황보영 님, 안녕하세요.", timeout=10_000)
    expect(frame_text(page)).to_contain_text("황보영은 올해도")
    expect(page.locator(".inbox-subject")).to_have_text("(광고) 황보영 님께 드리는 초록상회 12월 소식")  # type: ignore[attr-defined]
    expect(page.locator("#recipient-card")).to_contain_text("윤재민")  # type: ignore[attr-defined]
    shoot(page, "consonant")
    choose(page, "kim.gapsu@", "김갑수")  # 김갑수: ends in a vowel
    expect(frame_text(page)).to_contain_text("생각 깊은 김갑수 님, 안녕하세요.", timeout=10_000)
    expect(frame_text(page)).to_contain_text("김갑수는 올해도")
    expect(frame_text(page)).not_to_contain_text("황보영")
    shoot(page, "vowel")
    page.click("#view-text")  # type: ignore[attr-defined]
    expect(page.locator("#text-part")).to_contain_text("김갑수는 올해도")  # type: ignore[attr-defined]
    shoot(page, "text")


@pytest.mark.browser
def test_the_mobile_toggle_narrows_the_message_and_dark_mode_darkens_it(page: object) -> None:
    from playwright.sync_api import expect

    expect(frame_text(page)).to_contain_text("안녕하세요", timeout=15_000)
    frame = page.locator("#frame")  # type: ignore[attr-defined]
    assert frame.bounding_box()["width"] > 900
    page.click("#width-mobile")  # type: ignore[attr-defined]
    expect(frame).to_have_css("width", "375px")
    inner = page.frame_locator("#frame").locator("html")  # type: ignore[attr-defined]
    wide = inner.evaluate("e => e.scrollWidth - e.clientWidth")
    assert wide <= 0, f"the message scrolls sideways by {wide}px on a phone"
    shoot(page, "mobile")
    page.click("#scheme-dark")  # type: ignore[attr-defined]
    body = page.frame_locator("#frame").locator(".card").first  # type: ignore[attr-defined]
    expect(body).to_have_css("background-color", "rgb(27, 31, 28)", timeout=10_000)
    shoot(page, "mobile-dark")
    page.click("#width-desktop")  # type: ignore[attr-defined]
    assert frame.bounding_box()["width"] > 900


@pytest.mark.browser
def test_a_saved_change_shows_up_without_reloading(page: object, live: tuple[Running, Path]) -> None:
    from playwright.sync_api import expect

    _, project = live
    expect(frame_text(page)).to_contain_text("안녕하세요", timeout=15_000)
    page.evaluate("window.__stillThisPage = true")  # type: ignore[attr-defined]
    version = int(page.locator("#build-status").get_attribute("data-version"))  # type: ignore[attr-defined]
    issue = project / "issues" / f"{SLUG}.md"
    original = issue.read_text(encoding="utf-8")
    try:
        save(issue, original.replace("초록상회 대표 한지원입니다.", "초록상회 대표 한지원입니다. 저장하자마자 보입니다."))
        expect(frame_text(page)).to_contain_text("저장하자마자 보입니다.", timeout=15_000)
        assert page.evaluate("window.__stillThisPage") is True  # type: ignore[attr-defined]
        assert int(page.locator("#build-status").get_attribute("data-version")) > version  # type: ignore[attr-defined]
        shoot(page, "reloaded")
    finally:
        save(issue, original)
        expect(frame_text(page)).not_to_contain_text("저장하자마자 보입니다.", timeout=15_000)


@pytest.mark.browser
def test_errors_and_lint_findings_link_to_the_issue_line(page: object, live: tuple[Running, Path]) -> None:
    from playwright.sync_api import expect

    _, project = live
    issue = project / "issues" / f"{SLUG}.md"
    original = issue.read_text(encoding="utf-8")
    try:
        save(issue, original.replace("{{ recipient|greeting }}", "{{ recipient.nmae }}"))
        banner = page.locator(".problem.error")  # type: ignore[attr-defined]
        expect(banner).to_contain_text("unknown merge field 'recipient.nmae'", timeout=15_000)
        expect(page.locator("#build-status")).to_contain_text("실패")  # type: ignore[attr-defined]
        shoot(page, "error")
        banner.locator("a[data-line='8']").click()
        expect(page.locator("#L8")).to_have_class(re.compile(r"\bhit\b"))  # type: ignore[attr-defined]
        expect(page.locator("#L8")).to_contain_text("{{ recipient.nmae }}")  # type: ignore[attr-defined]
        # Fixed, and a photo without a width added: the build passes with a lint warning.
        save(issue, original.replace(GREETING_LINE, GREETING_LINE + "\n\n![찻잔](https://cdn.example.com/cup.jpg)"))
        expect(banner).to_have_count(0, timeout=15_000)
        finding = page.locator("#lint li[data-code='img-no-width']")  # type: ignore[attr-defined]
        expect(finding).to_be_visible()
        line = int(finding.locator("a").get_attribute("data-line"))
        assert line == 10 and issue.read_text(encoding="utf-8").splitlines()[line - 1] == "![찻잔](https://cdn.example.com/cup.jpg)"
        finding.locator("a").click()
        expect(page.locator(f"#L{line}")).to_have_class(re.compile(r"\bhit\b"))  # type: ignore[attr-defined]
        shoot(page, "lint")
    finally:
        save(issue, original)
        expect(page.locator("#lint-ok")).to_be_visible(timeout=15_000)  # type: ignore[attr-defined]
