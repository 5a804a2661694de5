"""``POST /api/protect``: the page's "What would protect me?" panel, as an APIRouter the app includes.

The upload is received exactly as ``/api/analyze`` receives one, with the app's limits and queue
(:mod:`.uploads`, :mod:`.slots`): only ``image/*`` or ``multipart/form-data`` bodies, a byte limit
and a pace, a place in the same slots, the same time budget, ``decode_image``'s pixel limit, the
same status codes. The answer is :meth:`.protect.ProtectResult.to_dict`: per face, the occlusions
ranked by what the run's attacker still reads, the attacker's name and whether it is adaptive, and
with ``images=true`` the picture grid as a JPEG data URL.
"""

from __future__ import annotations

from typing import Any, Optional

import anyio
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from maskprivacy.analysis.limits import RETRY_AFTER_S
from maskprivacy.analysis.slots import OverBudget, Slots, Ticket
from maskprivacy.analysis.uploads import (
    ClientGone,
    Pace,
    parse_multipart,
    parse_options,
    read_body,
    shown,
    wants_images,
)
from maskprivacy.memtrim import trim


class Attacker(BaseModel):
    name: str = Field(description="the model that read the faces")
    adaptive: bool = Field(description="true: it trained on faces wearing occlusions; false: it never did (naive)")
    note: str


class Read(BaseModel):
    label: str
    confidence: Optional[float] = None


class RankedOcclusion(BaseModel):
    rank: Optional[int] = None
    occlusion: str
    kind: str = Field(description="bare, drawn or image-edit")
    description: str
    reads: dict[str, Any] = Field(description="sex, race, age_bucket: {label, confidence}; age: {years}")
    still_read: float = Field(description="mean top-class probability over sex, race and age group")
    hidden: float = Field(description="share of the face the occlusion hides")
    same_as_bare: dict[str, bool]


class ProtectedFace(BaseModel):
    box: list[int] = Field(description="left, top, right, bottom in photo pixels")
    bare: RankedOcclusion
    ranking: list[RankedOcclusion] = Field(description="most protective first")
    notes: list[str] = []


class ProtectResponse(BaseModel):
    width: int
    height: int
    model: str
    attacker: Attacker
    ranked_by: str
    n_faces: int
    faces: list[ProtectedFace]
    notes: list[str] = []
    grid: Optional[str] = Field(None, description="the picture grid, a JPEG data URL (images=true)")


def protect_router(
    analyzer: Any,
    slots: Slots,
    max_upload_bytes: int,
    max_pixels: int,
    budget_s: float,
    pace: Pace = Pace(),
) -> APIRouter:
    """The router for the app's run. ``analyzer`` (:class:`.analyzer.Analyzer`) is the app's: its models,
    split and detector are shared; the adaptive attacker, when the run has one, loads now (a broken run
    fails when the app is made, not on a request)."""
    from maskprivacy.analysis.protect import load_protect_attacker, protect_photo

    models = analyzer.models
    attacker = load_protect_attacker(models.run, models.split, models=models)
    detector = analyzer.detector
    model_name = models.run.resolve().name
    router = APIRouter()

    @router.post(
        "/api/protect",
        response_model=ProtectResponse,
        summary="Every occlusion on every face of a photo, ranked by what the attacker still reads",
        responses={
            400: {"description": "empty or malformed upload, a form of too many parts"},
            408: {"description": "the body arrived too slowly"},
            413: {"description": "too many bytes, pixels or JPEG scans"},
            415: {"description": "not an image, or a body neither image/* nor multipart/form-data"},
            422: {"description": "a bad or repeated option"},
            503: {"description": "busy (see Retry-After), or over the time budget"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "the photo (kept in memory only)",
                "content": {
                    "image/*": {"schema": {"type": "string", "format": "binary"}},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {"file": {"type": "string", "format": "binary"}},
                        }
                    },
                },
            }
        },
    )
    async def protect(
        request: Request,
        images: str = Query("false", description="true: include the picture grid as a JPEG data URL"),
    ) -> Any:
        opts = parse_options(request.query_params.multi_items())
        ctype = request.headers.get("content-type", "")
        kind = ctype.split(";")[0].strip().lower()
        multipart = kind == "multipart/form-data"
        if not (multipart or kind.startswith("image/")):
            raise HTTPException(
                415,
                f"send the photo as an image/* body (e.g. image/jpeg) or as the field `file` of a multipart/form-data "
                f"form; got {shown(kind) if kind else 'no Content-Type'}",
            )
        slots.start_receiving()
        try:
            body = await read_body(request, max_upload_bytes, pace)
        except ClientGone:
            return Response(status_code=400)
        finally:
            slots.done_receiving()
        if multipart:
            data, fields = parse_multipart(body, ctype)
            opts = parse_options(request.query_params.multi_items(), fields)
            if data is None:
                raise HTTPException(400, "the form has no file field: send the photo as `file`")
        else:
            data = body
        del body
        if not data:
            raise HTTPException(400, "empty upload: send the photo's bytes")
        ticket = slots.admit()
        try:
            await run_in_threadpool(ticket.acquire, budget_s)
            try:
                with anyio.fail_after(budget_s):
                    return await anyio.to_thread.run_sync(ticket.run, work, data, opts, ticket, abandon_on_cancel=True)
            except (TimeoutError, OverBudget):
                raise HTTPException(
                    503,
                    f"this photo took longer than the {budget_s:g} s its decoding and analysis may take; abandoned",
                    headers={"Retry-After": str(RETRY_AFTER_S)},
                ) from None
        finally:
            ticket.close()

    def work(data: bytes, opts: dict[str, str], ticket: Ticket) -> dict[str, Any]:
        from maskprivacy.data.imageio import ImageError, decode_image

        try:
            try:
                rgb = decode_image(data, max_pixels=max_pixels)
            except ImageError as e:
                code = 413 if e.kind == "too_large" else 415
                what = "this image is too large to decode" if code == 413 else "this file is not a readable image"
                raise HTTPException(code, f"{what} ({e.reason})") from None
            ticket.check()
            return protect_photo(rgb, attacker, detector, model=model_name).to_dict(images=wants_images(opts))
        finally:
            trim()

    return router


__all__ = ["ProtectResponse", "protect_router"]
