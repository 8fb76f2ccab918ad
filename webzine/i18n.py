"""Messages in the reader's language: Korean or English, through gettext catalogs.

Source text is English (the msgid); the Korean lives in `webzine/locale/ko/LC_MESSAGES/<catalog>.po`,
one catalog per stage package (`cli.po`, `recipients.po`, …, `core.po` for the core modules), compiled
to `.mo` next to it by `make catalogs` (Babel). One catalog per package keeps each stage's words with
the stage and lets two people translate two stages without touching the same file.

A message is marked where it is written:

    raise ListError(_("{path}:{row}: no address in column {column}.").format(path=path, row=row, column=column))

`N_("…")` marks text that is translated later, when it is shown (click's `--help`, tables of labels).
The language is chosen once per command by the CLI (`activate`): `--lang`, else the locale
(`LANGUAGE`, `LC_ALL`, `LC_MESSAGES`, `LANG`) when it names Korean or English, else the publication's
`[publication] language`, else Korean. Code that never activates a language (a script importing
webzine) gets the locale's language, else English.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path

LANGUAGES = ("ko", "en")
LOCALE_DIR = Path(__file__).parent / "locale"
# The locale variables in the order gettext itself reads them.
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_active: str | None = None


def language_of_locale(environ: Mapping[str, str]) -> str | None:
    """"ko" or "en" when the first locale variable set names one (`ko_KR.UTF-8`, `en:ko`); None for
    `C`, `POSIX`, another language or nothing set."""
    for name in LOCALE_VARIABLES:
        value = environ.get(name, "")
        if value:
            first = value.split(":")[0].split(".")[0].split("_")[0].lower()
            return first if first in LANGUAGES else None
    return None


def choose_language(option: str | None, environ: Mapping[str, str], publication_language: str | None) -> str:
    """`--lang`, else the locale, else the publication's language, else Korean."""
    for candidate in (option, language_of_locale(environ), publication_language):
        if candidate:
            short = candidate.lower()[:2]
            if short in LANGUAGES:
                return short
    return "ko"


def activate(language: str) -> None:
    """Every message from now on is in `language` ("ko" or "en")."""
    global _active
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")
    _active = language


def active_language() -> str:
    """The language `activate` chose; before that, the locale's, else English."""
    if _active is not None:
        return _active
    return language_of_locale(os.environ) or "en"


@cache
def catalog(language: str) -> gettext.NullTranslations:
    """Every stage's catalog for `language`, merged; English is the source text itself."""
    merged = gettext.NullTranslations()
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    if language != "en" and folder.is_dir():
        for path in sorted(folder.glob("*.mo")):
            with path.open("rb") as file:
                merged.add_fallback(gettext.GNUTranslations(file))
    return merged


def _(message: str) -> str:
    """`message` in the active language."""
    return catalog(active_language()).gettext(message)


def in_language(language: str, message: str) -> str:
    """`message` in `language`, whatever the active language is: a report whose language its own
    option chooses (`webzine check --lang`)."""
    return catalog(language).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural form for `count`, in the active language."""
    return catalog(active_language()).ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Marks `message` for the catalog without translating it now: it is translated when shown."""
    return message
