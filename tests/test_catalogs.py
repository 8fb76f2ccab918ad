"""Every message a user can see has its Korean: each package's marked messages are in its catalog,
translated (not empty, not fuzzy) with the same `{fields}` as the English, and each compiled .mo is
the compiled .po. `make catalogs` (tests/catalogkit.py) brings a catalog up to date; a person
translates what it leaves empty."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

import catalogkit
from webzine.cli import cli


@pytest.mark.parametrize("package", catalogkit.packages())
def test_every_message_of_the_package_is_translated(package: str) -> None:
    found = catalogkit.translation_problems(package, catalogkit.template(package), catalogkit.read_catalog(package))
    assert not found, "\n".join(map(str, found))


@pytest.mark.parametrize("package", catalogkit.packages())
def test_the_compiled_catalog_is_the_catalog(package: str) -> None:
    expected = catalogkit.compiled(package)
    mo = catalogkit.mo_path(package)
    if expected is None:
        assert not mo.exists(), f"{mo} has no .po beside it"
    else:
        assert mo.is_file() and mo.read_bytes() == expected, f"{mo} is stale: run make catalogs"


def test_a_message_in_two_catalogs_has_one_translation() -> None:
    """The catalogs are merged at run time, so a sentence two packages share must read the same in
    both, or which one shows depends on the order the files are loaded in."""
    seen: dict[str, tuple[str, str]] = {}
    differ = []
    for package in catalogkit.packages():
        catalog = catalogkit.read_catalog(package)
        for message in catalog or ():
            if not message.id or not message.string:
                continue
            key, text = str(message.id), str(message.string)
            if key in seen and seen[key][1] != text:
                differ.append(f"{key!r}: {seen[key][0]}.po {seen[key][1]!r} ≠ {package}.po {text!r}")
            seen.setdefault(key, (package, text))
    assert not differ, "\n".join(differ)


def source_catalog(tmp_path: Path, code: str) -> Catalog:
    module = tmp_path / "module.py"
    module.write_text(code, encoding="utf-8")
    catalog = Catalog(locale="ko", fuzzy=False)
    for message in catalogkit.marked_messages([module]):
        catalog.add(message)
    return catalog


def test_the_check_names_each_message_left_untranslated(tmp_path: Path) -> None:
    """The completeness test can fail: a missing, an empty, a fuzzy and a mis-fielded translation
    are each reported, and a complete one is not."""
    source = source_catalog(tmp_path, """
from webzine.i18n import _, N_, ngettext
_("{path}: no such file.")
_("{count} rows read.")
N_("Send the issue.")
ngettext("{n} address", "{n} addresses", 2)
_("Done.")
""")
    korean = Catalog(locale="ko", fuzzy=False)
    korean.add("{count} rows read.", "")
    korean.add("Send the issue.", "호를 보냅니다.", flags=["fuzzy"])
    korean.add(("{n} address", "{n} addresses"), ("주소 {count}개",))
    korean.add("Done.", "끝났습니다.")
    reasons = {problem.msgid: problem.reason for problem in catalogkit.translation_problems("demo", source, korean)}
    assert reasons == {
        "{path}: no such file.": "not in the catalog; run make catalogs and translate it",
        "{count} rows read.": "has no Korean yet (empty msgstr)",
        "Send the issue.": "marked fuzzy; check the Korean and remove the fuzzy flag",
        "{n} address": "the Korean has fields ['{count}'], the English ['{n}']",
    }


def test_an_update_keeps_translations_and_drops_what_left_the_source(tmp_path: Path) -> None:
    existing = Catalog(locale="ko", fuzzy=False)
    existing.add("Kept.", "남았습니다.")
    existing.add("Gone.", "사라졌습니다.")
    source = source_catalog(tmp_path, 'from webzine.i18n import _\n_("Kept.")\n_("New.")\n')
    catalog = catalogkit.updated(existing, source)
    assert {message.id: message.string or "" for message in catalog if message.id} == {"Kept.": "남았습니다.", "New.": ""}
    assert b"Gone." not in catalogkit.po_bytes(catalog)
    assert not any(message.fuzzy for message in catalog if message.id)


def test_make_catalogs_creates_keeps_and_compiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new message lands in its package's catalog untranslated; once translated, the .mo is
    compiled, and running again changes nothing."""
    package = tmp_path / "webzine" / "stage"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('from webzine.i18n import _\n_("Hello {name}.")\n', encoding="utf-8")
    monkeypatch.setattr(catalogkit, "PACKAGE_DIR", tmp_path / "webzine")
    monkeypatch.setattr(catalogkit, "LOCALE_DIR", tmp_path / "webzine" / "locale")
    assert catalogkit.packages() == ["core", "stage"]
    assert catalogkit.main(["stage"]) == 0
    assert [problem.reason for problem in catalogkit.problems("stage")] == ["has no Korean yet (empty msgstr)"]
    po = catalogkit.po_path("stage")
    po.write_text(po.read_text(encoding="utf-8").replace(
        'msgid "Hello {name}."\nmsgstr ""', 'msgid "Hello {name}."\nmsgstr "{name} 님, 안녕하세요."'), encoding="utf-8")
    assert catalogkit.main(["stage"]) == 0
    assert catalogkit.problems("stage") == []
    before = po.read_bytes(), catalogkit.mo_path("stage").read_bytes()
    assert catalogkit.main([]) == 0
    assert (po.read_bytes(), catalogkit.mo_path("stage").read_bytes()) == before
    assert "Language: ko" in po.read_text(encoding="utf-8")
    assert "Plural-Forms: nplurals=1; plural=0;" in po.read_text(encoding="utf-8")
    assert catalogkit.main(["nowhere"]) == 2


def help_pages(language: str) -> dict[str, str]:
    """`webzine --lang LANGUAGE <command> --help` for every command of the tree, rendered in-process."""
    from click.testing import CliRunner

    from webzine.cli.help import command_tree

    pages = {}
    for path, _command in command_tree(cli):
        words = path.split()[1:]
        result = CliRunner().invoke(cli, ["--lang", language, *words, "--help"], prog_name="webzine")
        assert result.exit_code == 0, (path, result.output)
        pages[path] = result.output
    return pages


def flat(text: str) -> str:
    return " ".join(text.split())


def test_every_command_declares_its_help_through_the_translating_classes() -> None:
    from click import Argument

    from webzine.cli.help import Command, Group, Option, command_tree

    for path, command in command_tree(cli):
        assert isinstance(command, (Command, Group)), f"{path}: use webzine.cli.help's command/group"
        for parameter in command.params:
            assert isinstance(parameter, (Option, Argument)), f"{path} {parameter.name}: use webzine.cli.help's option"


def test_every_help_page_renders_in_english_and_korean_with_no_english_help_left() -> None:
    from webzine.cli.help import command_tree, help_msgid

    english, korean = help_pages("en"), help_pages("ko")
    assert english.keys() == korean.keys() and len(korean) > 20
    for path, command in command_tree(cli):
        assert english[path].startswith("Usage: ") and "Options:" in english[path]
        assert korean[path].startswith("사용법: ") and "옵션:" in korean[path]
        assert "Usage:" not in korean[path] and "Options:" not in korean[path] and "Commands:" not in korean[path]
        texts = [command.source_help, *(getattr(parameter, "source_help", None) for parameter in command.params)]
        for text in filter(None, map(help_msgid, texts)):
            first_line = flat(text)[:40]
            assert first_line in flat(english[path]), (path, first_line)
            assert first_line not in flat(korean[path]), f"{path}: {first_line!r} is shown in English in the Korean help"
        assert flat("Show this message and exit.") not in flat(korean[path])


def test_korean_help_fits_the_terminal_as_english_does() -> None:
    """Click wraps by characters; a Korean syllable takes two columns, so Korean help is wrapped by
    the columns it takes and stays within the 80 columns the English does."""
    from wcwidth import wcswidth

    for language in ("en", "ko"):
        widest = max(wcswidth(line) for page in help_pages(language).values() for line in page.splitlines())
        assert widest <= 80, (language, widest)


def test_the_korean_help_of_send_describes_it_in_korean() -> None:
    page = help_pages("ko")["webzine send"]
    assert "ISSUE를 정리된 명단과 합쳐 보냅니다 — --yes가 없으면 시험 실행입니다." in page
    assert "실제로 보냅니다. 없으면 시험 실행으로 무슨 일이 일어날지 보여 줍니다." in flat(page)
