"""`webzine suppressions pull [--provider NAME]`: copy other suppression lists into ours.

Reads what `webzine serve` recorded (one-click unsubscribes, webhook bounces and complaints) and,
when an email API is used, the provider's bounce / complaint / unsubscribe lists (see
each provider's `suppressions()` in `webzine.providers`), and merges them into `lists/suppressions.csv` with their evidence; the
strongest reason per address wins, nothing is removed. Exit codes: 0 done, 2 bad configuration, 3 the
provider could not be reached or refused the key (safe to re-run).
"""

from __future__ import annotations

from collections import Counter

import click

from webzine.i18n import _
from webzine.cli.help import Choice, group, option
from webzine.cli import Context, pass_context
from webzine.models import Suppression
from webzine.providers import PROVIDERS
from webzine.unsubscribes.store import store_suppressions
from webzine.recipients.suppressions import merge_suppressions


@group()
def suppressions() -> None:
    """The suppression list (lists/suppressions.csv): addresses that are never mailed again."""


@suppressions.command("pull")
@option(
    "--provider",
    type=Choice(sorted(PROVIDERS)),
    help="The email API to read; default: [send] transport when it is one of these.",
)
@option("--dry-run", is_flag=True, help="Show what would be merged; write nothing.")
@pass_context
def pull(ctx: Context, provider: str | None, dry_run: bool) -> int:
    """Merge what `webzine serve` recorded and the provider's hard bounces, complaints and
    unsubscribes into lists/suppressions.csv, each with its evidence. Running it again adds
    nothing new. Without an email API ([send] transport outbox or smtp) only the service's
    records are merged."""
    settings = ctx.settings
    name = provider or settings.send.transport
    entries = store_suppressions(settings)
    sources = ["webzine serve"]
    if name in PROVIDERS:
        transport = PROVIDERS[name].transport_class().from_settings(settings)
        try:
            entries += transport.suppressions()
        finally:
            transport.close()
        sources.append(name)
    name = " + ".join(sources)
    path = settings.path(settings.lists.suppressions)
    reasons = _reasons(entries)
    if dry_run:
        click.echo(_("{source}: {count} suppressions ({reasons}); dry run, {path} unchanged.").format(
            source=name, count=len(entries), reasons=reasons, path=path))
        return 0
    counts = merge_suppressions(path, entries)
    click.echo(_("{source}: {count} suppressions ({reasons}) → {path}: {added} added, {upgraded} with a stronger reason, "
                 "{unchanged} already listed.").format(source=name, count=len(entries), reasons=reasons, path=path,
                                                       added=counts.added, upgraded=counts.upgraded,
                                                       unchanged=counts.unchanged))
    return 0


def _reasons(entries: list[Suppression]) -> str:
    counted = Counter(entry.reason.value for entry in entries)
    return ", ".join(f"{reason} {count}" for reason, count in sorted(counted.items())) or _("none")
