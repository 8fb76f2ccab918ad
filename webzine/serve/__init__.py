"""`webzine serve`: one-click unsubscribe (RFC 8058), provider webhooks and reader feedback.

Other commands use only the store's read side: `load_unsubscribed` (for `webzine send`) and
`store_suppressions` (for `webzine suppressions pull`).
"""

from webzine.serve.store import load_unsubscribed, store_suppressions

__all__ = ["load_unsubscribed", "store_suppressions"]
