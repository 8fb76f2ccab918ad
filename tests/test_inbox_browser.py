"""The delivered email in headless Chromium the way readers' clients show it: light, dark
(`prefers-color-scheme`, Apple Mail and the Outlook apps), algorithmic darkening (Chromium's
auto dark mode, like Gmail's and Outlook for Windows' own recolouring), a full inversion (Gmail
for iOS) and with every `<style>` removed (webmails that strip it; caniemail has no data for
Naver, Daum or Nate). Each rendering is saved under `build/<slug>/screenshots/`, checked for
sideways scrolling on a phone, and measured: the contrast of every kind of text against its
ground, read from the pixels drawn, must reach WCAG AA."""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import CHROMIUM, CHROMIUM_ARGS, write_project
from test_inbox import contrast
from webzine.config import load_settings
from webzine.render.compose import write_build
from webzine.send.inputs import build_issue

# One worker runs the module: one Chromium for all its tests (make test: --dist loadgroup).
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("inbox_browser")]

REPO = Path(__file__).resolve().parent.parent
SAMPLE_ISSUE = REPO / "issues" / "2026-12-year-end.md"
MODES = ("light", "dark", "darkened", "inverted", "no-style")
# (selector, large text): WCAG AA asks 4.5:1, or 3:1 for text of 24 px, or 18.66 px bold.
TEXTS = (
    (".brand", True), (".dateline", False), (".content h1", True), (".content h2", True),
    (".content > p", False), (".content li", False), (".content .button", False),
    (".feedback-question", False), (".links a", False), (".sep", False), (".footer p", False),
)
INVERT = "html { filter: invert(1) hue-rotate(180deg) !important; }"  # what Gmail for iOS does


@pytest.fixture(scope="module")
def email_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample issue's delivered HTML filled for the sample recipient (preview.html)."""
    if SAMPLE_ISSUE.exists() and (REPO / "webzine.toml").exists():
        settings, issue = load_settings(REPO / "webzine.toml"), SAMPLE_ISSUE
    else:
        project = write_project(tmp_path_factory.mktemp("inbox") / "publication")
        settings, issue = load_settings(project / "webzine.toml"), project / "issues" / "2026-12-year-end.md"
    folder = write_build(build_issue(settings, issue), settings.path(settings.build.output))
    (folder / "screenshots").mkdir(exist_ok=True)
    return folder / "preview.html"


@pytest.fixture(scope="module")
def darkening_browser(browser: object) -> Iterator[object]:
    """A second Chromium with its algorithmic dark mode (Blink's force-dark) switched on."""
    launched = browser.browser_type.launch(  # type: ignore[attr-defined]
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, "--blink-settings=forceDarkModeEnabled=true"]
    )
    try:
        yield launched
    finally:
        launched.close()


def _open(browser: object, darkening: object, email: Path, mode: str, width: int):  # type: ignore[no-untyped-def]
    chosen = darkening if mode == "darkened" else browser
    scheme = "dark" if mode == "dark" else "light"
    page = chosen.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)  # type: ignore[attr-defined]
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
    if mode == "darkened":  # Gmail keeps no color-scheme meta and no media query: only its own recolouring
        html = email.read_text(encoding="utf-8")
        html = re.sub(r'<meta name="(?:color-scheme|supported-color-schemes)"[^>]*>', "", html)
        page.route(email.as_uri(), lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8"))
    page.goto(email.as_uri(), wait_until="load", timeout=20_000)
    if mode == "inverted":
        page.add_style_tag(content=INVERT)
    if mode == "no-style":
        page.evaluate("document.querySelectorAll('style').forEach(s => s.remove())")
    return page


def _pixels(png: bytes) -> list[tuple[int, int, int]]:
    """RGB pixels of an 8-bit, non-interlaced PNG (what Chromium writes), without Pillow."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, kind = struct.unpack(">IIBB", png[16:26])
    assert depth == 8 and kind in (2, 6), f"unexpected PNG (depth {depth}, colour type {kind})"
    channels = 3 if kind == 2 else 4
    data, offset = bytearray(), 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        if png[offset + 4 : offset + 8] == b"IDAT":
            data += png[offset + 8 : offset + 8 + length]
        offset += 12 + length
    raw, stride = zlib.decompress(bytes(data)), width * channels
    previous, pixels = bytearray(stride), []
    for y in range(height):
        start = y * (stride + 1)
        kind_of_filter, row = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = row[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind_of_filter == 1:
                row[i] = (row[i] + left) & 255
            elif kind_of_filter == 2:
                row[i] = (row[i] + up) & 255
            elif kind_of_filter == 3:
                row[i] = (row[i] + (left + up) // 2) & 255
            elif kind_of_filter == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                row[i] = (row[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        pixels += [tuple(row[i : i + 3]) for i in range(0, stride, channels)]
        previous = row
    return pixels  # type: ignore[return-value]


def measured_contrast(png: bytes) -> float:
    """Text against its ground, from pixels: the ground is the commonest colour, the text the
    drawn colour farthest from it (anti-aliasing only ever lowers the contrast)."""
    pixels = _pixels(png)
    ground = Counter(pixels).most_common(1)[0][0]
    return max(contrast(ground, pixel) for pixel in set(pixels))


@pytest.mark.parametrize("mode", MODES)
def test_every_text_reaches_wcag_aa_and_nothing_overflows(
    browser: object, darkening_browser: object, email_file: Path, mode: str
) -> None:
    shots = email_file.parent / "screenshots"
    phone = _open(browser, darkening_browser, email_file, mode, 375)
    try:
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375, f"sideways scrolling at 375 px ({mode})"
        phone.screenshot(path=str(shots / f"375-{mode}.png"), full_page=True)
    finally:
        phone.close()
    page = _open(browser, darkening_browser, email_file, mode, 600)
    try:
        page.screenshot(path=str(shots / f"600-{mode}.png"), full_page=True)
        if mode == "darkened":  # the light-scheme page was recoloured by Chromium itself
            ground = Counter(_pixels(page.locator(".card").first.screenshot())).most_common(1)[0][0]
            assert sum(ground) < 3 * 80, f"the card is {ground}: algorithmic darkening did not apply"
        failures, measured = [], {}
        for selector, large in TEXTS:
            element = page.locator(selector).first
            element.scroll_into_view_if_needed()
            measured[selector] = ratio = round(measured_contrast(element.screenshot()), 2)
            if ratio < (3.0 if large else 4.5):
                failures.append(f"{selector} {ratio:.2f}:1")
        (shots / f"contrast-{mode}.json").write_text(json.dumps(measured, indent=1) + "\n", encoding="utf-8")
        assert not failures, f"{mode}: below WCAG AA: {', '.join(failures)}"
    finally:
        page.close()
