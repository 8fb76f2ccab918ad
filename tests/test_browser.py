"""preview.html in a real browser (headless Chromium): no sideways scrolling on a phone, the
600px layout on a desktop, the dark-mode rules applied. Screenshots are kept next to the build
(`build/<slug>/screenshots/`) for people to look at."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import write_project
from webzine.config import load_settings
from webzine.render.compose import write_build
from webzine.send.inputs import build_issue

# One worker runs the module: one Chromium for all its tests (make test: --dist loadgroup).
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

REPO = Path(__file__).resolve().parent.parent
SAMPLE_ISSUE = REPO / "issues" / "2026-12-year-end.md"


@pytest.fixture(scope="module")
def preview(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample publication's preview when the repository has it (so the screenshots show the
    real issue), else the test publication's."""
    if SAMPLE_ISSUE.exists() and (REPO / "webzine.toml").exists():
        settings = load_settings(REPO / "webzine.toml")
        rendered = build_issue(settings, SAMPLE_ISSUE)
        folder = write_build(rendered, settings.path(settings.build.output))
    else:
        project = write_project(tmp_path_factory.mktemp("browser") / "publication")
        settings = load_settings(project / "webzine.toml")
        rendered = build_issue(settings, project / "issues" / "2026-12-year-end.md")
        folder = write_build(rendered, settings.path(settings.build.output))
    (folder / "screenshots").mkdir(exist_ok=True)
    return folder / "preview.html"


def _open(browser: object, preview: Path, width: int, scheme: str = "light"):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)  # type: ignore[attr-defined]
    # Remote images are not fetched: the layout must hold without them (images-off clients too).
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
    page.goto(preview.as_uri(), wait_until="load", timeout=20_000)
    return page


def _shoot(page, preview: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    path = preview.parent / "screenshots" / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000


def test_no_horizontal_overflow_on_a_phone(browser: object, preview: Path) -> None:
    page = _open(browser, preview, 375)
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        widest = page.evaluate(
            "Math.max(...[...document.querySelectorAll('body *')].map(e => e.getBoundingClientRect().right))"
        )
        assert widest <= 375.5, f"an element reaches x={widest}px"
        padding = page.evaluate("getComputedStyle(document.querySelector('.content')).paddingLeft")
        assert padding == "18px"  # the mobile media query survived inlining and applies
        _shoot(page, preview, "375-light.png")
    finally:
        page.close()


def test_the_desktop_layout_is_600px_wide(browser: object, preview: Path) -> None:
    page = _open(browser, preview, 1024)
    try:
        assert page.evaluate("document.querySelector('.container').getBoundingClientRect().width") == 600
        assert page.evaluate("document.documentElement.scrollWidth") <= 1024
        page.set_viewport_size({"width": 600, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= 600
        _shoot(page, preview, "600-light.png")
    finally:
        page.close()


def test_dark_colour_scheme(browser: object, preview: Path) -> None:
    page = _open(browser, preview, 375, scheme="dark")
    try:
        card = page.evaluate("getComputedStyle(document.querySelector('.card')).backgroundColor")
        text = page.evaluate("getComputedStyle(document.querySelector('.content p')).color")
        assert card == "rgb(27, 31, 28)" and text == "rgb(228, 230, 229)"
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        _shoot(page, preview, "375-dark.png")
    finally:
        page.close()


def test_the_preheader_is_invisible(browser: object, preview: Path) -> None:
    page = _open(browser, preview, 600)
    try:
        box = page.evaluate("document.querySelector('.preheader').getBoundingClientRect().height")
        assert box == 0
    finally:
        page.close()
