"""``POST /api/protect``: the page's "What would protect me?" panel, as an APIRouter the app includes.

The upload is received by the same code as ``/api/analyze``'s (:mod:`.receive`), with the app's limits
and queue (:mod:`.uploads`, :mod:`.slots`): only ``image/*`` or ``multipart/form-data`` bodies, a byte limit
and a pace, a place in the same slots, the same time budget, ``decode_image``'s pixel limit, the
same status codes. The answer is :meth:`.protect.ProtectResult.to_dict`: per face, the occlusions
ranked by what the run's attacker still reads, the attacker's name and whether it is adaptive, and
with ``images=true`` the picture grid as a JPEG data URL.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from maskprivacy.analysis.receive import Intake, photo_body
from maskprivacy.analysis.slots import Ticket
from maskprivacy.analysis.uploads import wants_images
from maskprivacy.data.imageio import decode_image


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


def protect_router(analyzer: Any, intake: Intake) -> APIRouter:
    """The router for the app's run. ``analyzer`` (:class:`.analyzer.Analyzer`) and ``intake`` (the upload
    limits and slots) are the app's: its models, split and detector are shared; the adaptive attacker, when the run has one, loads now (a broken run
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
        openapi_extra=photo_body(("image/*",)),
    )
    async def protect(
        request: Request,
        images: str = Query("false", description="true: include the picture grid as a JPEG data URL"),
    ) -> Any:
        return await intake.receive_and_run(request, decode_image, work)

    def work(rgb: np.ndarray, opts: dict[str, str], ticket: Ticket) -> dict[str, Any]:
        return protect_photo(rgb, attacker, detector, model=model_name).to_dict(images=wants_images(opts))

    return router


__all__ = ["ProtectResponse", "protect_router"]
