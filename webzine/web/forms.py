"""Reading the small forms the service accepts (one-click POSTs, the feedback form).

Bodies are already capped by the guard middleware, so they are parsed from memory. Starlette's
general form parser builds `UploadFile` objects and spooled temp files that these forms never
need; driving python-multipart's parser directly is about four times cheaper, which matters on
the one-click path. Files are ignored, not stored.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

MAX_FIELDS = 10


def parse_form(content_type_header: str, body: bytes) -> dict[str, str] | None:
    """The text fields of a urlencoded or multipart body; None when it is neither or is broken.

    A body without a content type (or `text/plain`) is read as urlencoded, since RFC 8058 only
    names the field and some senders omit the header."""
    content_type, options = parse_options_header(content_type_header)
    if content_type == b"multipart/form-data":
        boundary = options.get(b"boundary")
        return _multipart(body, boundary) if boundary else None
    if content_type not in (b"", b"application/x-www-form-urlencoded", b"text/plain"):
        return None
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS))
    except (UnicodeDecodeError, ValueError):
        return None


def _multipart(body: bytes, boundary: bytes) -> dict[str, str] | None:
    fields: dict[str, str] = {}
    headers: dict[bytes, bytes] = {}
    header = [b"", b""]
    data: list[bytes] = []

    def on_part_begin() -> None:
        headers.clear()
        data.clear()

    def on_header_field(chunk: bytes, start: int, end: int) -> None:
        header[0] += chunk[start:end]

    def on_header_value(chunk: bytes, start: int, end: int) -> None:
        header[1] += chunk[start:end]

    def on_header_end() -> None:
        headers[header[0].lower()] = header[1]
        header[0] = header[1] = b""

    def on_part_data(chunk: bytes, start: int, end: int) -> None:
        data.append(chunk[start:end])

    def on_part_end() -> None:
        __, disposition = parse_options_header(headers.get(b"content-disposition", b""))
        name = disposition.get(b"name")
        if name is not None and b"filename" not in disposition and len(fields) < MAX_FIELDS:
            fields[name.decode("utf-8", "replace")] = b"".join(data).decode("utf-8", "replace")

    callbacks = {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    }
    try:
        parser = MultipartParser(boundary, callbacks)
        parser.write(body)
        parser.finalize()
    except MultipartParseError:
        return None
    return fields
