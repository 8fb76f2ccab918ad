"""The message catalogs: extract, update and compile them (`make catalogs`), and check them (tests/test_catalogs.py).

One catalog per stage package (`webzine/locale/ko/LC_MESSAGES/<package>.po`); the core modules at the top
of `webzine/` share `core.po`. The cli catalog also holds every click help text, found by walking the
command tree (docstrings are help too, and they carry no marker). Catalogs are written without source
locations and sorted, so two people adding messages to one package rarely touch the same lines; an
update keeps every translation, drops messages no longer in the source and never guesses (no fuzzy
matching), so a new msgid waits with an empty msgstr until someone translates it.

    python tests/catalogkit.py            # every package
    python tests/catalogkit.py cli core   # just these
"""

from __future__ import annotations

import io
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = ROOT / "webzine"
LOCALE_DIR = PACKAGE_DIR / "locale"
LANGUAGE = "ko"
CORE = "core"
CLI = "cli"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


@dataclass(frozen=True)
class Problem:
    """One reason a catalog is not ready, as a sentence naming the catalog and the msgid."""

    catalog: str
    msgid: str
    reason: str

    def __str__(self) -> str:
        return f"{self.catalog}.po: {self.msgid!r}: {self.reason}"


def packages() -> list[str]:
    """Every catalog's name: `core`, then each subpackage of webzine that has Python modules."""
    names = [path.name for path in sorted(PACKAGE_DIR.iterdir()) if (path / "__init__.py").is_file()]
    return [CORE, *names]


def source_files(package: str) -> list[Path]:
    """The Python files whose messages go into `package`'s catalog."""
    if package == CORE:
        return sorted(PACKAGE_DIR.glob("*.py"))
    return sorted((PACKAGE_DIR / package).rglob("*.py"))


def po_path(package: str, language: str = LANGUAGE) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{package}.po"


def mo_path(package: str, language: str = LANGUAGE) -> Path:
    return po_path(package, language).with_suffix(".mo")


def marked_messages(files: Iterable[Path]) -> Iterator[str | tuple[str, str]]:
    """Each message marked with `_`, `N_` or `ngettext` in `files` (a plural as (singular, plural))."""
    for path in files:
        for _lineno, message, _comments, _context in extract_from_file("python", str(path), keywords=KEYWORDS):
            yield message


def click_help_texts() -> Iterator[str]:
    """Every help text of the `webzine` command tree, as the msgid it is looked up by: each command's
    help and short help, each option's help (a docstring carries no marker, so the tree is walked)."""
    from webzine.cli import cli
    from webzine.cli.help import command_tree, help_msgid

    for _path, command in command_tree(cli):
        texts = [getattr(command, "source_help", command.help), getattr(command, "source_short_help", command.short_help)]
        texts += [getattr(parameter, "source_help", getattr(parameter, "help", None)) for parameter in command.params]
        yield from filter(None, map(help_msgid, texts))


def template(package: str) -> Catalog:
    """The messages `package`'s catalog must hold, from its source (and, for cli, the command tree)."""
    catalog = Catalog(locale=LANGUAGE, domain=package, project="webzine", fuzzy=False)
    messages: list[str | tuple[str, str]] = list(marked_messages(source_files(package)))
    if package == CLI:
        messages.extend(click_help_texts())
    for message in messages:
        catalog.add(message)
    return catalog


def read_catalog(package: str) -> Catalog | None:
    """`package`'s Korean catalog, or None when it has none yet."""
    path = po_path(package)
    if not path.is_file():
        return None
    with path.open("rb") as file:
        return read_po(file, locale=LANGUAGE, domain=package)


def updated(existing: Catalog | None, source: Catalog) -> Catalog:
    """`existing` with exactly `source`'s messages: translations kept, obsolete ones dropped, no guesses."""
    if existing is None:
        return source
    source.creation_date = existing.creation_date  # an unchanged catalog stays byte for byte the same
    existing.update(source, no_fuzzy_matching=True, update_header_comment=False)
    existing.obsolete.clear()
    return existing


def po_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalog, no_location=True, sort_output=True, ignore_obsolete=True)
    return buffer.getvalue()


def mo_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def compiled(package: str) -> bytes | None:
    """`package`'s .po compiled as `make catalogs` compiles it, or None when there is no .po."""
    catalog = read_catalog(package)
    return None if catalog is None else mo_bytes(catalog)


def write_whole(path: Path, data: bytes) -> None:
    """Replace `path` with `data` through a temporary file, so no reader sees half a catalog."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def refresh(package: str) -> int:
    """Update and compile `package`'s catalog; the number of its problems left for a person (tests/test_catalogs.py
    fails on each)."""
    source = template(package)
    existing = read_catalog(package)
    if existing is None and not len(source):
        return 0
    catalog = updated(existing, source)
    write_whole(po_path(package), po_bytes(catalog))
    write_whole(mo_path(package), mo_bytes(read_catalog(package)))  # type: ignore[arg-type]
    return len(problems(package))


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def translation_problems(package: str, source: Catalog, catalog: Catalog | None) -> list[Problem]:
    """What keeps `catalog` from translating every message of `source`: missing, empty or fuzzy
    entries, and translations whose `{fields}` differ from the English."""
    found: list[Problem] = []
    for message in source:
        if not message.id:
            continue
        msgid = message.id[0] if isinstance(message.id, tuple) else message.id
        entry = catalog.get(message.id) if catalog is not None else None
        if entry is None:
            found.append(Problem(package, msgid, "not in the catalog; run make catalogs and translate it"))
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if entry.fuzzy:
            found.append(Problem(package, msgid, "marked fuzzy; check the Korean and remove the fuzzy flag"))
        elif not all(strings):
            found.append(Problem(package, msgid, "has no Korean yet (empty msgstr)"))
        else:
            english = placeholders(message.id[-1] if isinstance(message.id, tuple) else message.id)
            for string in strings:
                if placeholders(string) != english:
                    found.append(Problem(package, msgid, f"the Korean has fields {sorted(placeholders(string))}, "
                                                         f"the English {sorted(english)}"))
    return found


def problems(package: str) -> list[Problem]:
    """Everything wrong with `package`'s catalog: untranslated messages and a stale .mo."""
    found = translation_problems(package, template(package), read_catalog(package))
    expected = compiled(package)
    if expected is not None and (not mo_path(package).is_file() or mo_path(package).read_bytes() != expected):
        found.append(Problem(package, "", "the .mo is not the compiled .po; run make catalogs"))
    return found


def main(arguments: list[str]) -> int:
    chosen = arguments or packages()
    unknown = sorted(set(chosen) - set(packages()))
    if unknown:
        print(f"catalogkit: no package {', '.join(unknown)}; choose from {', '.join(packages())}", file=sys.stderr)
        return 2
    for package in chosen:
        count = refresh(package)
        if count:
            print(f"{po_path(package).relative_to(PACKAGE_DIR.parent)}: {count} message(s) to translate")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
