"""Every message a user can see has its Korean: each package's marked messages are in its catalog,
translated (not empty, not fuzzy) with the same `{fields}` as the English, and each compiled .mo is
the compiled .po. `make catalogs` (tests/catalogkit.py) brings a catalog up to date; a person
translates what it leaves empty."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

import catalogkit


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
