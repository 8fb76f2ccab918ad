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
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jinja2  # noqa: E402
from markupsafe import Markup  # noqa: E402
from premailer import Premailer  # noqa: E402

from webzine.render import layout  # noqa: E402
from webzine.config import Settings, load_settings  # noqa: E402
from webzine.render.korean import register_filters  # noqa: E402
from webzine.render.slots import recipient_context  # noqa: E402
from webzine.render.compose import _layout_context, _layout_environment, _markdown, _template_names  # noqa: E402
from webzine.send.inputs import build_issue  # noqa: E402

ISSUE = ROOT / "issues" / "2026-12-year-end.md"
OUT = ROOT / "bench" / ".data" / "build"


def _cpu() -> float:
    """CPU seconds of this process and its finished children: on a shared, loaded machine wall
    time mostly measures the neighbours, CPU time measures us."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def median_seconds(function: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds) of `runs` calls after one warm-up call."""
    function()  # warm caches (templates, cssutils) as a long-running process would have them
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), _cpu()
        function()
        wall.append(time.perf_counter() - start)
        cpu.append(_cpu() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def cli_seconds(runs: int) -> tuple[float, float]:
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


def naive_per_recipient(settings: Settings, issue_path: Path, contexts: list[dict]) -> Callable[[], None]:
    """Render the whole email per recipient and inline its CSS: what a simple pipeline does.

    The laid-out document (real Jinja where the merge fields are, CSS not yet inlined) is made
    with the build's own steps, so both sides produce the same email."""
    rendered = build_issue(settings, issue_path)
    table = layout.SentinelTable(rendered.issue.body)
    body = _markdown(table.protect(rendered.issue.body), table)
    layouts = _layout_environment(settings)
    html_name, _ = _template_names(layouts, rendered.issue)
    context = _layout_context(settings, rendered.issue, table, rendered.web_url, ())
    laid_out = table.restore(layouts.get_template(html_name).render({**context, "body": Markup(body.html)}))
    environment = jinja2.Environment(autoescape=True)
    register_filters(environment)
    template = environment.from_string(laid_out)

    def run() -> None:
        for recipient in contexts:
            premailer_once(template.render(recipient))

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
    merge_all = median_seconds(lambda: [rendered.html.render(c) for c in contexts], args.runs)
    naive_all = median_seconds(naive_per_recipient(settings, ISSUE, contexts[:20]), max(1, args.runs // 3))
    merge = (merge_all[0] / len(contexts), merge_all[1] / len(contexts))
    naive = (naive_all[0] / 20, naive_all[1] / 20)

    print(f"bench_build: {ISSUE.relative_to(ROOT)}, preview HTML {len(laid_out.encode()) / 1024:.1f} KB, "
          f"{len(rendered.html.slots)} merge slots, median of {args.runs} runs, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    rows = [
        ("build_issue, in-process", in_process, in_process),
        ("webzine build, CLI subprocess", cli, in_process),
        ("premailer once (inside the build)", premailer, premailer),
    ]
    if rust is not None:
        rows.append(("css-inline once (Rust peer)", rust, premailer))
    print(f"{'per issue':<40}{'wall':>11}{'CPU':>11}{'CPU ratio':>11}")
    for name, (wall, cpu), (_, base) in rows:
        print(f"{name:<40}{wall * 1e3:>9.1f}ms{cpu * 1e3:>9.1f}ms{cpu / base if base else 0:>10.2f}x")
    print(f"{'per recipient':<40}{'wall':>11}{'CPU':>11}{'CPU ratio':>11}")
    for name, (wall, cpu) in (("merge slots (inline once, merge many)", merge), ("naive: render layout + premailer", naive)):
        print(f"{name:<40}{wall * 1e6:>9.1f}µs{cpu * 1e6:>9.1f}µs{cpu / merge[1] if merge[1] else 0:>10.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
