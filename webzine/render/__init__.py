"""Render: an issue file → the email's HTML (CSS inlined once) and plain text, with merge slots left in.

The files, in pipeline order:
- `issue.py`        front matter + Markdown → a validated `Issue`
- `layout.py`       the Jinja layout rendered once per issue, per-recipient parts kept as slots
- `compose.py`      Issue → `RenderedIssue`: Markdown, layout, premailer once; the web page
- `plain_text.py`   the plain-text alternative, from the Markdown tree
- `slots.py`        merge slots: inline once, merge many (the personaliser)
- `korean.py`       particles (조사) and honorifics after a merged name
- `fields.py`       which merge fields an issue uses, checked against a list sample the caller reads
- `lint.py`         size, links, images and compliance checks on the rendered issue
- `compat_data.py`  caniemail.com support data the lint reads
"""
