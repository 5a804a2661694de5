"""Reading an upload: its body bounded in bytes and in time, its form bounded in parts, its options parsed once.

Everything here happens before a request takes a place in the analysis queue, so nothing here may
wait on a client for long or do work in proportion to what a client chose to send beyond the limits:

* the body must keep arriving (:func:`read_body`): a client that stops sending is answered 408 and
  its connection closed after a few seconds, and one that goes away is a one-line log entry;
* a multipart form is parsed in memory with python-multipart (:func:`parse_multipart`), refused at
  its ninth part, at a text field over a kilobyte, or at a second file, before any per-part work;
* the options (:func:`parse_options`) come from the query string and the form together, each key
  at most once, and an error quotes at most a short prefix of the value it refuses.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from fastapi import HTTPException, Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from maskprivacy.analysis.limits import (
    BODY_GRACE_S,
    BODY_TIMEOUT_S,
    MAX_FIELD_BYTES,
    MAX_PART_HEADER_BYTES,
    MAX_PARTS,
    MIN_BODY_RATE,
)
from maskprivacy.masking.colors import parse_color
from maskprivacy.masking.draw import STYLES

log = logging.getLogger(__name__)

# The names the photo's field may have; the page sends `file`.
FILE_FIELDS = ("file", "photo", "image")
OPTIONS = ("mask_style", "mask_color", "already_masked", "images")
DEFAULTS = {"mask_style": "a", "mask_color": "white", "already_masked": "auto", "images": "false"}
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
# Connection: close on an answer sent before the body is complete: the rest of it is not read.
CLOSE = {"Connection": "close"}


class ClientGone(Exception):
    """The client closed its connection before its body arrived; there is nobody to answer."""


def shown(value: str, n: int = 32) -> str:
    """``value`` quoted for an error message, cut to its first ``n`` characters (a 2 MB value is not echoed)."""
    return repr(value[:n]) + (f"... ({len(value):,} characters)" if len(value) > n else "")


@dataclass(frozen=True)
class Pace:
    """How fast a body must arrive: ``grace_s`` + bytes / ``min_rate`` seconds, and ``timeout_s`` at most."""

    grace_s: float = BODY_GRACE_S
    min_rate: float = MIN_BODY_RATE
    timeout_s: float = BODY_TIMEOUT_S

    def deadline(self, start: float, received: int) -> float:
        return start + min(self.grace_s + received / self.min_rate, self.timeout_s)


async def read_body(request: Request, limit: int, pace: Pace = Pace()) -> bytes:
    """The request body, kept in memory; 413 past ``limit`` bytes, 408 when it arrives slower than ``pace``.

    Each chunk is awaited only until the deadline that the bytes received so far allow, so a client
    that sends 10 bytes and stalls is dropped after ``pace.grace_s`` seconds. Both refusals close the
    connection (the unread rest of the body is not waited for). Raises :class:`ClientGone` when the
    client disconnects.
    """
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"upload is {int(declared):,} bytes; the limit is {limit:,} bytes", headers=CLOSE)
    buf = bytearray()
    start = time.monotonic()
    chunks = request.stream().__aiter__()
    while True:
        left = pace.deadline(start, len(buf)) - time.monotonic()
        try:
            if left <= 0:
                raise TimeoutError
            chunk = await asyncio.wait_for(chunks.__anext__(), left)
        except StopAsyncIteration:
            return bytes(buf)
        except TimeoutError:
            log.warning("upload dropped: %d bytes in %.0f s is too slow", len(buf), time.monotonic() - start)
            raise HTTPException(
                408,
                f"the upload arrived too slowly ({len(buf):,} bytes in {time.monotonic() - start:.0f} s); a body "
                f"must arrive within {pace.grace_s:g} s plus 1 s per {pace.min_rate / 1024:g} KB",
                headers=CLOSE,
            ) from None
        except ClientDisconnect:
            log.warning("client went away during its upload (%d bytes received)", len(buf))
            raise ClientGone from None
        buf += chunk
        if len(buf) > limit:
            raise HTTPException(413, f"upload is over the limit of {limit:,} bytes", headers=CLOSE)


def parse_multipart(
    body: bytes,
    content_type: str,
    max_parts: int = MAX_PARTS,
    max_field_bytes: int = MAX_FIELD_BYTES,
) -> tuple[bytes | None, list[tuple[str, str]]]:
    """(the file's bytes, the text fields in order) of a multipart/form-data body, parsed in memory.

    python-multipart's streaming parser, with every count bounded as it goes: the part after
    ``max_parts``, a text field over ``max_field_bytes``, a part header over
    ``MAX_PART_HEADER_BYTES`` and a second file are refused (400) at once, so a body of 200,000
    empty parts costs nine. Repeated text fields are returned as they came (:func:`parse_options`
    refuses them).
    """
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise HTTPException(400, "malformed multipart body: no boundary in its Content-Type")

    parts = 0
    header_name, header_value = bytearray(), bytearray()
    disposition = b""
    name: str | None = None
    is_file = False
    current = bytearray()
    data: bytes | None = None
    fields: list[tuple[str, str]] = []

    def refuse(why: str) -> HTTPException:
        return HTTPException(400, f"multipart form refused: {why}")

    def on_part_begin() -> None:
        nonlocal parts, disposition, name, is_file
        parts += 1
        if parts > max_parts:
            raise refuse(f"more than {max_parts} parts")
        disposition, name, is_file = b"", None, False
        current.clear()

    def on_header_field(d: bytes, start: int, end: int) -> None:
        header_name.extend(d[start:end])

    def on_header_value(d: bytes, start: int, end: int) -> None:
        header_value.extend(d[start:end])

    def on_header_end() -> None:
        nonlocal disposition
        if bytes(header_name).strip().lower() == b"content-disposition":
            disposition = bytes(header_value)
        header_name.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        nonlocal name, is_file
        _, opts = parse_options_header(disposition)
        raw = opts.get(b"name")
        name = raw.decode("utf-8", "replace") if raw is not None else None
        is_file = b"filename" in opts or name in FILE_FIELDS
        if is_file and data is not None:
            raise refuse("more than one file; send one photo")

    def on_part_data(d: bytes, start: int, end: int) -> None:
        if not is_file and len(current) + (end - start) > max_field_bytes:
            raise refuse(f"the field {shown(name or '')} is over {max_field_bytes:,} bytes")
        current.extend(d[start:end])

    def on_part_end() -> None:
        nonlocal data
        if is_file:
            data = bytes(current)
        elif name:
            fields.append((name, current.decode("utf-8", "replace")))
        current.clear()

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
        max_header_size=MAX_PART_HEADER_BYTES,
    )
    try:
        parser.write(body)
        parser.finalize()
    except FormParserError as e:
        raise refuse(f"malformed ({str(e)[:80]})") from None
    if parts == 0:
        raise refuse("no parts")
    return data, fields


def parse_options(query: Iterable[tuple[str, str]], fields: Iterable[tuple[str, str]] = ()) -> dict[str, str]:
    """The options of one request, from its query string and form fields together, checked before any work.

    Each option may be given once in all (422 otherwise: with ``mask_style=zzz&mask_style=a`` one
    value would go unchecked). Unknown keys are ignored, as the query string always allowed. A bad
    colour is refused even for a photo without a face.
    """
    seen: dict[str, str] = {}
    for key, value in (*query, *fields):
        if key not in OPTIONS:
            continue
        if key in seen:
            raise HTTPException(422, f"{key} is given more than once; give each option once")
        seen[key] = value
    opts = {**DEFAULTS, **seen}
    if opts["mask_style"] not in (*STYLES, "none"):
        raise HTTPException(
            422, f"mask_style must be one of {', '.join(STYLES)} or none; got {shown(opts['mask_style'])}"
        )
    if opts["already_masked"] not in ("auto", "yes", "no"):
        raise HTTPException(422, f"already_masked must be auto, yes or no; got {shown(opts['already_masked'])}")
    if opts["images"].lower() not in (*TRUE, *FALSE):
        raise HTTPException(422, f"images must be true or false; got {shown(opts['images'])}")
    if len(opts["mask_color"]) > 64:
        raise HTTPException(422, f"mask_color: {shown(opts['mask_color'])} is not a colour")
    try:
        parse_color(opts["mask_color"])
    except ValueError as e:
        raise HTTPException(422, f"mask_color: {str(e)[:160]}") from None
    return opts


def wants_images(opts: dict[str, str]) -> bool:
    return opts["images"].lower() in TRUE
