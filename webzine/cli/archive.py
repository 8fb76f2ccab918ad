"""`webzine archive`: the static web archive (index, one page per issue, Atom feed, sitemap)."""

from __future__ import annotations

from pathlib import Path

import click

from webzine.archive import build_archive, write_archive
from webzine.cli import Context, pass_context

DEFAULT_OUT = "site"


@click.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Output folder (default: site/ in the project folder). Replaced as a whole.")  # fmt: skip
@pass_context
def archive(ctx: Context, out_dir: Path | None) -> int:
    """Build the web archive from every issue in issues/: site/index.html (newest first),
    site/<slug>/index.html (the "웹에서 보기" page, no personal data), feed.xml and sitemap.xml.
    All links are relative, so the folder can be published under any path (GitHub Pages)."""
    settings = ctx.settings
    built = build_archive(settings)
    out = write_archive(built, out_dir or settings.path(DEFAULT_OUT))
    shown = _shown(out)
    click.echo(f"{shown}/ — {len(built.issues)} issue(s), newest first:")
    for item in built.issues:
        assets = f" + {len(item.assets)} file(s)" if item.assets else ""
        click.echo(f"  {item.label}  {item.title}  → {shown}/{item.slug}/index.html{assets}  ({item.web_url})")
    click.echo(f"  index.html, feed.xml, sitemap.xml → publish {shown}/ at {settings.publication.base_url}")
    return 0


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
