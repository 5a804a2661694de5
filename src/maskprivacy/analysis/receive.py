"""One photo upload from request to answer, the same for every endpoint that takes a photo.

``/api/analyze`` and ``/api/protect`` differ only in what they do with the decoded photo; how the
photo arrives is one policy and is written once here, so that a limit, a status code or a message
cannot drift between them:

* only an ``image/*`` or a ``multipart/form-data`` body is read (415 otherwise: a cross-site form
  cannot send either without a preflight);
* the body is read among the slots' receiving uploads, bounded in bytes and pace (:mod:`.uploads`);
  a client that went away gets a bare 400 (nobody is there to read it);
* a form's file field is the photo and its text fields join the query's options;
* an empty upload is refused before it takes a slot; otherwise it waits for a slot
  (:mod:`.slots`) and its work runs in a worker thread under the time budget (503 past it);
* decoding refuses what ``decode_image`` refuses with 413 (too large) or 415 (unreadable).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import anyio
import numpy as np
from fastapi import HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from maskprivacy.analysis.limits import RETRY_AFTER_S
from maskprivacy.analysis.slots import OverBudget, Slots, Ticket
from maskprivacy.analysis.uploads import ClientGone, Pace, parse_multipart, parse_options, read_body, shown
from maskprivacy.data.imageio import ImageError
from maskprivacy.memtrim import trim

# What an endpoint does with one decoded photo: its pixels (RGB), its options, its slot's ticket.
Work = Callable[[np.ndarray, dict[str, str], Ticket], dict[str, Any]]


def photo_body(image_types: Iterable[str]) -> dict[str, Any]:
    """The OpenAPI request body of an endpoint that takes a photo: a body of one of ``image_types``, or
    the field ``file`` of a multipart form (``openapi_extra``: FastAPI cannot see a body read by hand)."""
    return {
        "requestBody": {
            "required": True,
            "description": "the photo (kept in memory only)",
            "content": {
                **{t: {"schema": {"type": "string", "format": "binary"}} for t in image_types},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            },
        }
    }


@dataclass(frozen=True)
class Intake:
    """The app's limits on a photo upload, shared by its endpoints: the slots (queue), the bytes of a
    body and the pace it must keep, the pixels of a decoded photo, the seconds its work may take."""

    slots: Slots
    max_upload_bytes: int
    max_pixels: int
    budget_s: float
    pace: Pace = Pace()

    async def receive_and_run(self, request: Request, decode: Callable[..., np.ndarray], work: Work) -> Any:
        """Receive the request's photo, ``decode`` it and run ``work`` on it in a slot; its answer, or the refusal.

        ``decode`` is ``decode_image`` as the endpoint's module names it (so that a test can slow it down),
        called with ``max_pixels``; its refusals become 413 or 415.
        The options are parsed from the raw query string (and the form's fields), so that a repeated key
        is refused instead of one value going unchecked. Decoding and ``work`` run in a worker thread,
        checking the budget between them, and the freed memory is handed back after them (their arrays
        are gone once they have returned)."""
        opts = parse_options(request.query_params.multi_items())
        ctype = request.headers.get("content-type", "")
        kind = ctype.split(";")[0].strip().lower()
        multipart = kind == "multipart/form-data"
        if not (multipart or kind.startswith("image/")):
            raise HTTPException(
                415,
                f"send the photo as an image/* body (e.g. image/jpeg) or as the field `file` "
                f"of a multipart/form-data form; got {shown(kind) if kind else 'no Content-Type'}",
            )
        self.slots.start_receiving()
        try:
            body = await read_body(request, self.max_upload_bytes, self.pace)
        except ClientGone:
            return Response(status_code=400)  # nobody is there to read it
        finally:
            self.slots.done_receiving()
        if multipart:
            data, fields = parse_multipart(body, ctype)
            opts = parse_options(request.query_params.multi_items(), fields)
            if data is None:
                raise HTTPException(400, "the form has no file field: send the photo as `file`")
        else:
            data = body
        del body
        if not data:
            raise HTTPException(400, "empty upload: send the photo's bytes")  # no slot needed to say so

        def decode_work_trim(data: bytes, opts: dict[str, str], ticket: Ticket) -> dict[str, Any]:
            try:
                try:
                    rgb = decode(data, max_pixels=self.max_pixels)
                except ImageError as e:
                    code = 413 if e.kind == "too_large" else 415
                    what = "this image is too large to decode" if code == 413 else "this file is not a readable image"
                    raise HTTPException(code, f"{what} ({e.reason})") from None
                ticket.check()
                return work(rgb, opts, ticket)
            finally:
                trim()

        ticket = self.slots.admit()
        try:
            await run_in_threadpool(ticket.acquire, self.budget_s)
            try:
                with anyio.fail_after(self.budget_s):
                    return await anyio.to_thread.run_sync(
                        ticket.run, decode_work_trim, data, opts, ticket, abandon_on_cancel=True
                    )
            except (TimeoutError, OverBudget):
                raise HTTPException(
                    503,
                    f"this photo took longer than the {self.budget_s:g} s its decoding and analysis may take; abandoned",
                    headers={"Retry-After": str(RETRY_AFTER_S)},
                ) from None
        finally:
            ticket.close()


__all__ = ["Intake", "Work", "photo_body"]
