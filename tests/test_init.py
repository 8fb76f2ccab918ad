"""`webzine init`: a company's own publication repository — the files it promises, placeholders
that `webzine check` catches, workflows actionlint accepts, and no file ever overwritten.
(tests/test_wheel.py runs build, audit and a dry-run send in it from an installed wheel.)"""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest
from clikit import in_process
from conftest import TODAY
from test_workflows import _actionlint

from webzine.config import load_settings
from webzine.domain.offline import check_placeholders
from webzine.render.layout import BUILTIN_TEMPLATES

FIRST_ISSUE = f"issues/{TODAY:%Y-%m}-changganho.md"
FILES = {
    "webzine.toml", "README.md", "requirements.txt", ".gitignore", ".ci/state.sh", FIRST_ISSUE,
    ".github/workflows/monthly-send.yml", ".github/workflows/check.yml", ".github/workflows/pages.yml",
    "lists/subscribers.csv", "lists/managers.csv", "lists/key-customers.csv", "lists/suppressions.csv",
    "lists/example-subscribers.csv", "lists/example-managers.csv",
}  # fmt: skip


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """`webzine ARGS…` in-process in `tmp_path`: (exit code, stdout, stderr)."""
    return in_process(tmp_path, monkeypatch, capsys)


def files_in(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_init_writes_a_publication_repository(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("init", "초록상회", "--dir", "news")
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == f"Created {len(FILES)} files in news/ for 초록상회."
    assert f"cd news && webzine build {FIRST_ISSUE} && webzine check" in out
    folder = tmp_path / "news"
    assert files_in(folder) == FILES, "templates/ only with --eject-templates"
    assert (folder / ".ci" / "state.sh").stat().st_mode & 0o111
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# 초록상회 소식지\n\n초록상회가 고객께 매달 보내는 소식지의 저장소입니다.")
    assert "비공개(private) 저장소" in readme and "webzine check --dns" in readme
    issue = (folder / FIRST_ISSUE).read_text(encoding="utf-8")
    assert 'title: "초록상회 소식지를 시작합니다"' in issue and f"date: {TODAY.isoformat()}" in issue
    assert "advertising: false" in issue and "{{ recipient|greeting }}, 안녕하세요. 초록상회입니다." in issue
    for name in ("subscribers", "managers", "key-customers", "suppressions"):
        assert len((folder / "lists" / f"{name}.csv").read_text(encoding="utf-8").splitlines()) == 1, name
    assert len((folder / "lists" / "example-subscribers.csv").read_text(encoding="utf-8").splitlines()) == 4
    assert "webzine==" in (folder / "requirements.txt").read_text(encoding="utf-8")


def test_every_marked_placeholder_is_one_webzine_check_catches(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("init", "초록상회", "--dir", "news")[0] == 0
    config = tmp_path / "news" / "webzine.toml"
    marked = {}
    section = ""
    for line in config.read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            section = line.split("]")[0].strip("[")
        elif "← 바꾸세요" in line and "=" in line and not line.startswith("#"):
            marked[f"[{section}] {line.split('=')[0].strip()}"] = line
    settings = load_settings(config)
    flagged = {finding.values["field"] for finding in check_placeholders(settings) if "field" in finding.values}
    sent = {key for key in marked if not key.startswith(("[smtp]", "[dkim] selector"))}  # not a placeholder by itself
    assert len(sent) >= 9 and sent <= flagged, sent - flagged
    assert settings.publication.name == "초록상회 소식지" and settings.lists.key_customers == ""
    assert tomllib.loads(config.read_text(encoding="utf-8"))["send"]["transport"] == "outbox"


def test_eject_templates_copies_the_built_in_ones(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("init", "초록상회", "--dir", "news", "--eject-templates")[0] == 0
    templates = tmp_path / "news" / "templates"
    assert files_in(templates) == files_in(BUILTIN_TEMPLATES)
    email = "email.html.j2"
    assert (templates / email).read_text(encoding="utf-8") == (BUILTIN_TEMPLATES / email).read_text(encoding="utf-8")
    assert "| `templates/` |" in (tmp_path / "news" / "README.md").read_text(encoding="utf-8")


def test_init_refuses_to_overwrite_and_writes_nothing(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "news"
    (folder / "lists").mkdir(parents=True)
    (folder / "lists" / "subscribers.csv").write_text("email\nkeep@example.co.kr\n", encoding="utf-8")
    (folder / "README.md").write_text("ours\n", encoding="utf-8")
    code, out, err = run("init", "초록상회", "--dir", "news")
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "Error: news/README.md: already exists (and 1 more); webzine init never overwrites a file.",
        "Hint: choose an empty folder with --dir, or move the existing files away.",
    ]
    assert files_in(folder) == {"README.md", "lists/subscribers.csv"}
    assert (folder / "README.md").read_text(encoding="utf-8") == "ours\n"


def test_init_without_dir_names_the_folder_after_the_publication(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("init", "초록상회")[0] == 0
    assert (tmp_path / "choroksanghoe" / "webzine.toml").is_file()
    code, _, err = run("init", "  ")
    assert code == 2 and err.startswith("Error: the publication's name is empty;")


def test_scaffolded_workflows_pass_actionlint(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("init", "초록상회", "--dir", "news")[0] == 0
    workflows = sorted((tmp_path / "news" / ".github" / "workflows").glob("*.yml"))
    result = subprocess.run([_actionlint(), *map(str, workflows)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_folder_that_cannot_be_made_is_one_line_and_nothing_written(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "notes.txt").write_text("a file, not a folder\n", encoding="utf-8")
    code, out, err = run("init", "초록상회", "--dir", "notes.txt/news")
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "Error: notes.txt/news: cannot be created (Not a directory).",
        "Hint: choose a folder you can write to with --dir.",
    ]
