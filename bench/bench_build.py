"""`webzine build` of the sample issue, and what "inline once, merge many" saves per recipient.

Measured in one run, medians of N repetitions:
- `build_issue` in-process (Markdown, layouts, premailer, merge compile, preview, web, lint);
- `webzine build` as a subprocess, as an editor runs it (interpreter start and imports included);
- the CSS inliners alone on the same laid-out HTML: premailer (what the build uses) and
  css-inline (Rust) as the peer;
- per recipient: filling the merge slots of the built template, against the naive pipeline that
  renders the Jinja layout and runs premailer for every recipient.

Run: .venv/bin/python bench/bench_build.py [--runs 7] [--recipients 200]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from premailer import Premailer  # noqa: E402

from webzine import layout  # noqa: E402
from webzine.config import load_settings  # noqa: E402
from webzine.merge import recipient_context  # noqa: E402
from webzine.render import build_issue  # noqa: E402

ISSUE = ROOT / "issues" / "2026-12-year-end.md"
OUT = ROOT / "bench" / ".data" / "build"


def median_seconds(function: Callable[[], object], runs: int) -> float:
    function()  # warm caches (templates, cssutils) as a long-running process would have them
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def cli_seconds(runs: int) -> float:
    script = Path(sys.executable).with_name("webzine")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from webzine.cli import main; main()"]
    command += ["build", str(ISSUE), "--out", str(OUT)]
    env = {**os.environ, "NO_COLOR": "1"}

    def run() -> None:
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True, env=env, timeout=120)

    return median_seconds(run, runs)


def premailer_once(html: str) -> str:
    return Premailer(html, disable_validation=True, allow_network=False, disable_link_rewrites=True,
                     strip_important=False, cssutils_logging_level=logging.CRITICAL).transform()  # fmt: skip


def naive_per_recipient(settings, issue_path: Path, contexts: list[dict]) -> Callable[[], None]:  # type: ignore[no-untyped-def]
    """Render the whole email per recipient and inline its CSS: what a simple pipeline does."""
    rendered = build_issue(settings, issue_path)
    # The pre-inlining document with real Jinja in it: the built template's source is already
    # inlined, so the layout pass is redone here exactly as a per-recipient pipeline would do it.
    from webzine.render import _layout_environment, _layout_context, _markdown, _template_names  # noqa: PLC0415
    import jinja2  # noqa: PLC0415
    from markupsafe import Markup  # noqa: PLC0415

    table = layout.SentinelTable(rendered.issue.body)
    body = _markdown(table.protect(rendered.issue.body), table)
    layouts = _layout_environment(settings)
    html_name, _ = _template_names(layouts, rendered.issue)
    context = _layout_context(settings, rendered.issue, table, rendered.web_url, ())
    laid_out = table.restore(layouts.get_template(html_name).render({**context, "body": Markup(body.html)}))
    environment = jinja2.Environment(autoescape=True)
    from webzine.korean import register_filters  # noqa: PLC0415

    register_filters(environment)
    template = environment.from_string(laid_out)

    def run() -> None:
        for context in contexts:
            premailer_once(template.render(context))

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--recipients", type=int, default=200)
    args = parser.parse_args()
    if not ISSUE.exists():
        print(f"bench_build: {ISSUE} not found; the sample publication is needed.", file=sys.stderr)
        return 2
    settings = load_settings(ROOT / "webzine.toml")
    rendered = build_issue(settings, ISSUE)
    contexts = [
        recipient_context({"email": f"r{i}@example.com", "name": f"김{i}", "adjective": "", "company": "",
                           "manager": "", "consent_at": "", "tags": ()}, None, f"https://u.example/{i}")  # fmt: skip
        for i in range(args.recipients)
    ]
    laid_out = rendered.preview_html
    try:
        import css_inline  # noqa: PLC0415

        inliner: Callable[[], object] | None = lambda: css_inline.inline(laid_out)  # noqa: E731
    except ImportError:
        inliner = None

    in_process = median_seconds(lambda: build_issue(settings, ISSUE), args.runs)
    cli = cli_seconds(max(3, args.runs // 2))
    premailer = median_seconds(lambda: premailer_once(laid_out), args.runs)
    rust = median_seconds(inliner, args.runs) if inliner else None
    merge = median_seconds(lambda: [rendered.html.render(c) for c in contexts], args.runs) / len(contexts)
    naive_runs = max(1, args.runs // 3)
    naive = median_seconds(naive_per_recipient(settings, ISSUE, contexts[:20]), naive_runs) / 20

    print(f"bench_build: {ISSUE.relative_to(ROOT)}, preview HTML {len(laid_out.encode()) / 1024:.1f} KB, "
          f"{len(rendered.html.slots)} merge slots, median of {args.runs} runs")  # fmt: skip
    rows = [
        ("build_issue, in-process", in_process, in_process),
        ("webzine build, CLI subprocess", cli, in_process),
        ("premailer once (inside the build)", premailer, premailer),
    ]
    if rust is not None:
        rows.append(("css-inline once (Rust peer)", rust, premailer))
    print(f"{'per issue':<40}{'median':>12}{'ratio':>10}")
    for name, seconds, base in rows:
        print(f"{name:<40}{seconds * 1000:>10.1f}ms{seconds / base:>9.2f}x")
    print(f"{'per recipient':<40}{'median':>12}{'ratio':>10}")
    print(f"{'merge slots (inline once, merge many)':<40}{merge * 1e6:>10.1f}µs{1:>9.2f}x")
    print(f"{'naive: render layout + premailer':<40}{naive * 1e6:>10.1f}µs{naive / merge:>9.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
