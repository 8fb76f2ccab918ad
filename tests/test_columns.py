"""`[lists.columns]` in webzine.toml and `--column` wherever the subscriber list is read: an export's
own header names mapped to webzine's fields, in one place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clikit import in_process, set_section

ISSUE = "issues/2026-12-year-end.md"
HEADER = "수신 메일 주소"  # a CRM's own name for the address column: no synonym webzine knows


@pytest.fixture
def run(project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("WEBZINE_UNSUBSCRIBE_SECRET", "test-secret-not-for-production")
    subscribers = project / "lists" / "subscribers.csv"
    text = subscribers.read_text(encoding="utf-8")
    subscribers.write_text(text.replace("email,", f"{HEADER},", 1), encoding="utf-8")
    return in_process(project, monkeypatch, capsys)


def map_email_in_config(project: Path) -> None:
    config = project / "webzine.toml"
    config.write_text(config.read_text(encoding="utf-8") + f'\n[lists.columns]\nemail = "{HEADER}"\n', encoding="utf-8")


def test_without_a_mapping_the_list_has_no_email_column(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("send", ISSUE, "--json")
    assert code == 2 and "no email column" in err and HEADER in err


@pytest.mark.parametrize("command", [("send", ISSUE, "--json"), ("audit", ISSUE), ("build", ISSUE)])
def test_the_mapping_in_webzine_toml_is_used_by_every_command(run, project: Path, command) -> None:  # type: ignore[no-untyped-def]
    map_email_in_config(project)
    code, out, err = run(*command)
    assert code in (0, 1), err  # audit: 1 is "gaps found", not a list error
    assert "no email column" not in err


@pytest.mark.parametrize("command", [("send", ISSUE, "--json"), ("audit", ISSUE), ("build", ISSUE)])
def test_column_on_the_command_line(run, command) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(*command, "--column", f"email={HEADER}")
    assert code in (0, 1), err
    assert "no email column" not in err


def test_the_send_reads_the_mapped_list(run, project: Path) -> None:  # type: ignore[no-untyped-def]
    map_email_in_config(project)
    code, out, _ = run("send", ISSUE, "--json")
    plan = json.loads(out)
    assert code == 0 and plan["recipients"] > 0 and "@" in plan["first"][0]["email"]


def test_an_unknown_field_in_the_config_names_the_section(run, project: Path) -> None:  # type: ignore[no-untyped-def]
    config = project / "webzine.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[lists.columns]\nmail = "x"\n', encoding="utf-8")
    code, _, err = run("send", ISSUE, "--json")
    assert code == 2 and "[lists.columns] mail" in err and "email" in err


def add_crm_manager_columns(project: Path) -> None:
    """The manager columns of a common CRM export, which webzine does not read by themselves."""
    subscribers = project / "lists" / "subscribers.csv"
    lines = subscribers.read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + ",account_manager_email,상담메모"] + [line + ",park@example.co.kr," for line in lines[1:]]
    subscribers.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_columns_nothing_uses_are_listed_once_by_build_and_send(run, project: Path) -> None:  # type: ignore[no-untyped-def]
    map_email_in_config(project)
    add_crm_manager_columns(project)
    code, out, err = run("build", ISSUE)
    assert code == 0, err
    (line,) = [line for line in out.splitlines() if "not used" in line]
    assert line.strip() == "columns not used: region, account_manager_email → did you mean manager_email?, 상담메모"
    code, out, err = run("send", ISSUE)
    assert code == 0, err
    assert [line.strip() for line in out.splitlines() if "not used" in line] == [
        "not used   region, account_manager_email → did you mean manager_email?, 상담메모"]
    code, out, _ = run("send", ISSUE, "--json")
    assert json.loads(out)["columns_not_used"] == ["region", "account_manager_email → did you mean manager_email?", "상담메모"]
    code, out, err = run("lists", "clean")
    assert code == 0, err
    assert [line for line in out.splitlines() if "not webzine fields" in line] == [
        "columns that are not webzine fields (kept as merge fields): region, account_manager_email → did you mean "
        "manager_email?, 상담메모"]


CRM_EXPORT = """\
email,name,account_manager,account_manager_email,consent_at
kim@example.com,김갑수,한지민,jimin.han@example.co.kr,2025-01-02
lee@example.com,이을순,,,2025-02-03
"""


def test_managers_are_derived_from_the_lists_own_manager_columns(project: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import email
    import email.policy

    monkeypatch.setenv("WEBZINE_UNSUBSCRIBE_SECRET", "test-secret-not-for-production")
    (project / "lists" / "subscribers.csv").write_text(CRM_EXPORT, encoding="utf-8")
    (project / "lists" / "managers.csv").unlink()
    config = project / "webzine.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[lists.columns]\nmanager = "account_manager"\n'
                      'manager_email = "account_manager_email"\n', encoding="utf-8")
    run = in_process(project, monkeypatch, capsys)
    code, out, err = run("send", ISSUE, "--yes", "--json", "--allow-gaps", "test")
    assert code == 0, err
    messages = {}
    for path in (project / "outbox" / "new").iterdir():
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        messages[message["To"].addresses[0].addr_spec] = message
    assert messages["kim@example.com"]["Reply-To"].addresses[0].addr_spec == "jimin.han@example.co.kr"
    assert "한지민" in messages["kim@example.com"].get_body(("plain",)).get_content()
    assert messages["lee@example.com"]["Reply-To"].addresses[0].addr_spec != "jimin.han@example.co.kr"
    code, out, err = run("build", ISSUE)
    assert code == 0, err
    assert "account_manager_email" not in out  # mapped, so not "not used"


CRM_EXPORT_WITH_GAPS = """\
email,name,account_manager,account_manager_email,consent_at
kim@example.com,김갑수,한지민,jimin.han@example.co.kr,2025-01-02
lee@example.com,이을순,,,2025-02-03
park@example.com,박병호,한지민,Jimin.Han@example.co.kr,2019-01-02
choi@example.com,최동훈,오세영,오세영 <seyoung.oh@example.co.kr>,2019-03-04
"""


@pytest.fixture
def crm_project(project: Path) -> Path:
    """A list whose managers are two columns of its own (mapped in webzine.toml), no managers file,
    and key customers whose consent has expired, so the audit has a gap for each manager."""
    (project / "lists" / "subscribers.csv").write_text(CRM_EXPORT_WITH_GAPS, encoding="utf-8")
    (project / "lists" / "managers.csv").unlink()
    (project / "lists" / "key-customers.csv").write_text(
        "email,name,company,manager,excused\nkim@example.com,김갑수,,,\npark@example.com,박병호,,,\n"
        "choi@example.com,최동훈,,,\n", encoding="utf-8")
    config = project / "webzine.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[lists.columns]\nmanager = "account_manager"\n'
                      'manager_email = "account_manager_email"\n', encoding="utf-8")
    return project


def test_the_build_preview_shows_the_manager_the_list_names(crm_project: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = in_process(crm_project, monkeypatch, capsys)("build", ISSUE)
    assert code == 0, err
    preview = (crm_project / "build" / "2026-12-year-end" / "preview.html").read_text(encoding="utf-8")
    assert "한지민" in preview and 'href="mailto:jimin.han@example.co.kr"' in preview


def test_the_audit_groups_gaps_by_the_managers_the_list_names(crm_project: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = in_process(crm_project, monkeypatch, capsys)("audit", ISSUE)
    assert code == 1, err
    managers = [line for line in out.splitlines() if line and not line.startswith((" ", "Key customers"))]
    assert managers == ["한지민 (jimin.han@example.co.kr)", "오세영 (seyoung.oh@example.co.kr)"]
    code, out, err = in_process(crm_project, monkeypatch, capsys)("audit", ISSUE, "--json")
    assert [gap["manager"] for gap in json.loads(out)["gaps"]] == ["jimin.han@example.co.kr", "seyoung.oh@example.co.kr"]


def test_the_preview_server_knows_the_managers_the_list_names(crm_project: Path) -> None:
    from conftest import TODAY

    from webzine.config import load_settings
    from webzine.web.preview import load_audience

    audience = load_audience(load_settings(crm_project / "webzine.toml"), False, TODAY)
    assert {key: manager.name for key, manager in audience.managers.items()} == {
        "jimin.han@example.co.kr": "한지민", "seyoung.oh@example.co.kr": "오세영"}
    assert audience.notices == ()


@pytest.mark.parametrize("command", [("report", ISSUE), ("digest", "write", ISSUE)])
def test_the_report_and_the_digests_read_the_mapped_list(run, project: Path, command) -> None:  # type: ignore[no-untyped-def]
    map_email_in_config(project)
    code, out, err = run(*command)
    assert code == 0, err


def test_the_digests_go_to_the_managers_the_list_names(crm_project: Path) -> None:
    from conftest import TODAY

    from webzine.config import load_settings
    from webzine.managers.digest import build_digests
    from webzine.managers.load import load_issue_sources
    from webzine.managers.outcomes import outcome_table

    loaded = load_issue_sources(load_settings(crm_project / "webzine.toml"), ISSUE, TODAY)
    digests = build_digests(outcome_table(loaded.people, loaded.facts), loaded.managers, loaded.facts)
    assert [(d.manager_id, d.name, d.manager.email if d.manager else None, d.counts["customers"]) for d in digests] == [
        ("jimin.han@example.co.kr", "한지민", "jimin.han@example.co.kr", 2),
        ("seyoung.oh@example.co.kr", "오세영", "seyoung.oh@example.co.kr", 1)]


def test_every_reader_of_the_list_finds_the_mapped_columns(project: Path) -> None:
    """The smaller readers (the unsubscribe service's address book, the ratings report's segments,
    the customers' names for proposals) take the mapping from the same place as the send."""
    from webzine.config import load_settings
    from webzine.customers.people import subscribers
    from webzine.web.feedback import read_segments
    from webzine.web.token_owners import list_reader

    subscribers_csv = project / "lists" / "subscribers.csv"
    subscribers_csv.write_text(subscribers_csv.read_text(encoding="utf-8").replace("email,", f"{HEADER},", 1),
                               encoding="utf-8")
    map_email_in_config(project)
    settings = load_settings(project / "webzine.toml")
    assert list_reader(settings)(subscribers_csv) == ["kim@example.com", "lee@example.com", "park@example.com"]
    assert read_segments(subscribers_csv, settings.lists.columns)["kim@example.com"].manager == "m1"
    assert subscribers(settings)["kim@example.com"].name == "김갑수"
