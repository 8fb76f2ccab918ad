"""`webzine archive`: the static web archive (index, one page per issue, Atom feed, sitemap)."""

from __future__ import annotations

from pathlib import Path

import click

from webzine.i18n import _
from webzine.cli.help import command, option
from webzine.web.archive import build_archive, write_archive
from webzine.cli import Context, pass_context

DEFAULT_OUT = "site"


@command()
@option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
        help="Output folder (default: site/ in the project folder). Replaced as a whole.")  # fmt: skip
@option("--include-drafts", is_flag=True,
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
    click.echo(_("{folder}/ — {count} issue(s), newest first:").format(folder=shown, count=len(built.issues)))
    for item in built.issues:
        assets = _(" + {count} file(s)").format(count=len(item.assets)) if item.assets else ""
        click.echo(f"  {item.label}  {item.title}  → {shown}/{item.slug}/index.html{assets}  ({item.web_url})")
    click.echo(_("  index.html, feed.xml, sitemap.xml → publish {folder}/ at {url}").format(
        folder=shown, url=settings.publication.base_url))
    for path, why in built.held_back:
        click.echo(_("  held back: {path} ({why}); --include-drafts publishes it for a private preview").format(
            path=path, why=why))
    return 0


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
