"""`webzine init NAME --dir PATH`: a company's own publication repository, outside this tool's tree.

The files come from the package's `scaffold/` data: `*.j2` files are rendered with the
publication's name and today's date, the others copied as they are; a `dot-` prefix becomes the
leading dot (`dot-github` → `.github`), which package data cannot carry. Nothing is overwritten:
every target is checked first, and each file is created only if it still does not exist.
"""

from __future__ import annotations

import importlib.metadata
import json
import shlex
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath

import click
import jinja2

from webzine.i18n import _
from webzine.cli.help import command, option
from webzine.cli import Context, pass_context
from webzine.cli.due import shown
from webzine.errors import UsageError
from webzine.files import create_new
from webzine.render.issue import slugify
from webzine.render.korean import josa
from webzine.render.layout import BUILTIN_TEMPLATES

SCAFFOLD = Path(__file__).resolve().parents[1] / "scaffold"
EXECUTABLE = 0o755


@dataclass(frozen=True)
class ScaffoldFile:
    path: PurePosixPath  # relative to the new repository
    text: str
    executable: bool = False


def scaffold_files(name: str, today: date, *, eject_templates: bool, version: str) -> list[ScaffoldFile]:
    """Every file of a new publication named `name`, its first issue dated `today`; with
    `eject_templates`, a copy of the built-in templates to edit under templates/."""
    first_issue = f"issues/{today:%Y-%m}-{slugify('창간호', fallback='first-issue')}.md"
    context = {"name": name, "date": today.isoformat(), "version": version, "first_issue": first_issue,
               "ejected": eject_templates}
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(SCAFFOLD)), keep_trailing_newline=True,
                                     undefined=jinja2.StrictUndefined)
    environment.filters["quoted"] = lambda value: json.dumps(str(value), ensure_ascii=False)  # TOML and YAML
    environment.filters["josa"] = josa
    files = []
    for source in sorted(p for p in SCAFFOLD.rglob("*") if p.is_file()):
        relative = PurePosixPath(source.relative_to(SCAFFOLD).as_posix())
        target = PurePosixPath(*(f".{part[4:]}" if part.startswith("dot-") else part for part in relative.parts))
        if target.suffix == ".j2":
            text = environment.get_template(relative.as_posix()).render(context)
            target = target.with_suffix("")
        else:
            text = source.read_text(encoding="utf-8")
        if target == PurePosixPath("issues/first-issue.md"):
            target = PurePosixPath(first_issue)
        files.append(ScaffoldFile(target, text, executable=target.suffix == ".sh"))
    if eject_templates:
        files += [ScaffoldFile(PurePosixPath("templates", p.relative_to(BUILTIN_TEMPLATES).as_posix()),
                               p.read_text(encoding="utf-8"))
                  for p in sorted(BUILTIN_TEMPLATES.rglob("*")) if p.is_file()]
    return files


def write_scaffold(folder: Path, files: list[ScaffoldFile]) -> None:
    """Create every file under `folder`, refusing before writing anything if one exists."""
    taken = [folder / f.path for f in files if (folder / f.path).exists() or (folder / f.path).is_symlink()]
    if taken:
        more = _(" (and {count} more)").format(count=len(taken) - 1) if len(taken) > 1 else ""
        raise UsageError(_("{path}: already exists{more}; webzine init never overwrites a file.").format(
            path=shown(taken[0]), more=more), hint=_("choose an empty folder with --dir, or move the existing files away."))
    # Every folder first: a place that cannot be written to fails before any file exists.
    for parent in sorted({(folder / f.path).parent for f in files}):
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except (NotADirectoryError, PermissionError, FileNotFoundError) as exc:
            raise UsageError(_("{path}: cannot be created ({reason}).").format(path=shown(parent), reason=exc.strerror),
                             hint=_("choose a folder you can write to with --dir.")) from None
    for item in files:
        path = folder / item.path
        try:
            create_new(path, item.text, mode=EXECUTABLE if item.executable else None)
        except FileExistsError:
            raise UsageError(_("{path}: appeared while webzine init was writing; nothing in it was overwritten.").format(
                path=shown(path)), hint=_("check who else writes to that folder, then run init again with an empty "
                                          "--dir.")) from None


@command()
@click.argument("name")
@option("--dir", "folder", type=click.Path(path_type=Path, file_okay=False),
        help="Where to create the repository (default: a new folder named after NAME, romanised).")
@option("--eject-templates", is_flag=True,
        help="Also copy the built-in templates into templates/ to change the design.")
@pass_context
def init(ctx: Context, name: str, folder: Path | None, eject_templates: bool) -> int:
    """Start a publication repository for NAME (e.g. 초록상회): webzine.toml with marked
    placeholders, a first issue, lists, GitHub workflows (monthly send, PR check, Pages),
    .gitignore and a Korean README. Never overwrites a file."""
    name = name.strip()
    if not name:
        raise UsageError(_("the publication's name is empty; write it as the first argument, e.g. webzine init 초록상회."))
    folder = folder or Path(slugify(name, fallback="publication"))
    files = scaffold_files(name, ctx.today, eject_templates=eject_templates, version=importlib.metadata.version("webzine"))
    write_scaffold(folder, files)
    issue = next(f.path for f in files if f.path.parts[0] == "issues")
    click.echo(_("Created {count} files in {folder}/ for {name}.").format(count=len(files), folder=shown(folder),
                                                                          name=name))
    click.echo(_("Next: replace every value marked '← 바꾸세요' in webzine.toml, fill lists/subscribers.csv, then run"))
    click.echo(f"  cd {shlex.quote(shown(folder))} && webzine build {issue} && webzine check")
    return 0
