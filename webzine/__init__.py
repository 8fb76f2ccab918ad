"""webzine: a monthly customer newsletter, from Markdown to personalised email, audited and sent."""

__version__ = "0.1.0"
