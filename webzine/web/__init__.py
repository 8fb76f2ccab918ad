"""Web: what webzine serves and publishes over HTTP.

- `app.py`             `webzine serve`: the Starlette application, routes assembled in one place
- `unsubscribe.py`     RFC 8058 one-click unsubscribe and the page a person sees
- `notice.py`          the 수신거부 처리결과 통지 sent after an unsubscribe
- `feedback.py`        reader feedback (1–5 and a comment) from the issue's links
- `webhooks.py`        provider webhooks → the store, through `webzine.providers`
- `token_owners.py`    who a token can belong to: the subscriber lists' addresses, kept fresh
- `forms.py`, `pages.py`, `security.py`   forms read, Korean pages shown, one middleware for every request
- `preview.py`, `preview_server.py`       `webzine preview`: the issue as each reader gets it, on 127.0.0.1
- `archive.py`         `webzine archive`: the static web archive (pages, index, Atom feed, sitemap)
"""
