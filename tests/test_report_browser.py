"""The digest and the issue report in a real browser (headless Chromium): nothing reaches past
the right edge of a 375 px phone, the 600 px and dark-mode renderings hold, and the charts are
drawn. Screenshots are kept in `build/screenshots/managers/` for people to look at."""

from __future__ import annotations

from pathlib import Path

import pytest

import managerkit

# One worker runs the module: one Chromium for all its tests (make test: --dist loadgroup).
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("report_browser")]

REPO = Path(__file__).resolve().parent.parent
SHOTS = REPO / "build" / "screenshots" / "managers"
SLUG = managerkit.SLUG
PAGES = ("digest", "report")


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A digest with calls and notes (최담당's) and the report, from a send with every kind of answer."""
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("WEBZINE_UNSUBSCRIBE_SECRET", managerkit.SECRET)
    try:
        project = managerkit.sent_and_answered(tmp_path_factory.mktemp("managers") / "publication")
        assert managerkit.run(project, "digest", "write", SLUG, "--today", "2026-12-10") == 0
        assert managerkit.run(project, "report", SLUG, "--today", "2026-12-10") == 0
    finally:
        monkeypatch.undo()
    SHOTS.mkdir(parents=True, exist_ok=True)
    return {"digest": project / "build" / "digests" / SLUG / "m2.html", "report": project / "build" / SLUG / "report.html"}


def _open(browser: object, path: Path, width: int, scheme: str = "light"):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)  # type: ignore[attr-defined]
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
    page.goto(path.as_uri(), wait_until="load", timeout=20_000)
    return page


def _widest(page) -> float:  # type: ignore[no-untyped-def]
    return page.evaluate(
        "Math.max(...[...document.querySelectorAll('body *')].map(e => e.getBoundingClientRect().right))")


def _shoot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    path = SHOTS / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000


@pytest.mark.parametrize("name", PAGES)
def test_nothing_overflows_on_a_phone(browser: object, pages: dict[str, Path], name: str) -> None:
    page = _open(browser, pages[name], 375)
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        widest = _widest(page)
        assert widest <= 375.5, f"{name}: an element reaches x={widest}px"
        _shoot(page, f"{name}-375-light.png")
    finally:
        page.close()


@pytest.mark.parametrize("name", PAGES)
def test_600px_and_dark_mode(browser: object, pages: dict[str, Path], name: str) -> None:
    page = _open(browser, pages[name], 600)
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= 600
        _shoot(page, f"{name}-600-light.png")
    finally:
        page.close()
    page = _open(browser, pages[name], 375, scheme="dark")
    try:
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(17, 20, 18)"
        assert _widest(page) <= 375.5
        _shoot(page, f"{name}-375-dark.png")
    finally:
        page.close()
    page = _open(browser, pages[name], 600, scheme="dark")
    try:
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(17, 20, 18)"
        assert page.evaluate("document.documentElement.scrollWidth") <= 600
        _shoot(page, f"{name}-600-dark.png")
    finally:
        page.close()


def test_the_report_draws_its_charts(browser: object, pages: dict[str, Path]) -> None:
    page = _open(browser, pages["report"], 600)
    try:
        bars = page.evaluate("[...document.querySelectorAll('svg.chart rect')].filter(r => r.getBBox().width > 0).length")
        assert bars >= 8
        heights = page.evaluate("[...document.querySelectorAll('svg.chart')].map(s => s.getBoundingClientRect().height)")
        assert all(h > 20 for h in heights)
        fill = page.evaluate("getComputedStyle(document.querySelector('svg.chart rect.s-reached')).fill")
        assert fill == "rgb(46, 139, 87)"
    finally:
        page.close()
