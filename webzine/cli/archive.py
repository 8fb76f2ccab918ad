"""`webzine archive`: the static web archive (index, one page per issue, Atom feed, sitemap)."""

from __future__ import annotations

from pathlib import Path

import click

from webzine.web.archive import build_archive, write_archive
from webzine.cli import Context, pass_context

DEFAULT_OUT = "site"


@click.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Output folder (default: site/ in the project folder). Replaced as a whole.")  # fmt: skip
@click.option("--include-drafts", is_flag=True,
              help="Also publish drafts and future-dated issues (for a private preview only).")
@pass_context
def archive(ctx: Context, out_dir: Path | None, include_drafts: bool) -> int:
    """Build the web archive from every issue in issues/: site/index.html (newest first),
    site/<slug>/index.html (the "웹에서 보기" page, no personal data), feed.xml and sitemap.xml.
    All links are relative, so the folder can be published under any path (GitHub Pages).
    Drafts (`draft: true`) and issues dated after today are held back unless --include-drafts."""
    settings = ctx.settings
    built = build_archive(settings, today=ctx.today, include_drafts=include_drafts)
    out = write_archive(built, out_dir or settings.path(DEFAULT_OUT))
    shown = _shown(out)
    click.echo(f"{shown}/ — {len(built.issues)} issue(s), newest first:")
    for item in built.issues:
        assets = f" + {len(item.assets)} file(s)" if item.assets else ""
        click.echo(f"  {item.label}  {item.title}  → {shown}/{item.slug}/index.html{assets}  ({item.web_url})")
    click.echo(f"  index.html, feed.xml, sitemap.xml → publish {shown}/ at {settings.publication.base_url}")
    for path, why in built.held_back:
        click.echo(f"  held back: {path} ({why}); --include-drafts publishes it for a private preview")
    return 0


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
