"""The web page and JSON API: upload a photo, see what the models read with and without a mask.

Privacy of the service itself (it handles photos of people):

* uploads are read into memory with a byte limit and decoded with a pixel limit checked from the
  header (``decode_image``); they are never written to disk: the body is read directly (Starlette's
  own form parser would spool files over 1 MB to a temporary file), multipart forms are parsed in
  memory, and the response carries only derived 200-px crops when asked;
* nothing about a request body reaches a log (the access log is off; errors name the reason only);
* the server binds 127.0.0.1 unless told otherwise.
"""
from __future__ import annotations

import email.parser
import email.policy
import threading
from importlib import resources
from typing import Any, Literal, Optional

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from ..masking.draw import STYLES

MAX_UPLOAD_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 30_000_000
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/bmp", "image/tiff", "image/gif",
               "application/octet-stream")


# ----------------------------------------------------------------------------- response schema
class ClassReading(BaseModel):
    label: str
    index: int
    confidence: Optional[float] = Field(None, description="probability of the label (0-1)")
    probabilities: Optional[dict[str, float]] = None


class AgeReading(BaseModel):
    years: float


class Reading(BaseModel):
    model: str = Field(description="which model read the face, e.g. unmasked_uniform")
    sex: Optional[ClassReading] = None
    race: Optional[ClassReading] = None
    age_bucket: Optional[ClassReading] = None
    age: Optional[AgeReading] = None


class Images(BaseModel):
    face: str = Field(description="the aligned face, a JPEG data URL")
    masked: Optional[str] = Field(None, description="the same face with the digital mask, a JPEG data URL")


class Face(BaseModel):
    box: list[int] = Field(description="left, top, right, bottom in photo pixels")
    detector: str
    detector_score: float
    already_masked: bool
    masked_reason: str
    alignment: str
    as_is: Optional[Reading] = Field(None, description="the face as photographed")
    masked: Optional[Reading] = Field(None, description="the face with the digital mask")
    change: Optional[dict[str, Any]] = Field(None, description="what the mask changed, per attribute")
    notes: list[str] = []
    images: Optional[Images] = None


class AnalyzeResponse(BaseModel):
    width: int
    height: int
    model: str
    mask_style: Optional[str]
    mask_color: str
    n_faces: int
    faces: list[Face]
    summary: str = Field(description="a short plain-language summary")
    notes: list[str] = []


class Health(BaseModel):
    model: str
    models: list[str]
    detector: str
    styles: list[str]
    max_upload_bytes: int
    max_pixels: int


# ----------------------------------------------------------------------------- body parsing
async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it passes ``limit`` bytes; kept in memory."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"upload is {int(declared):,} bytes; the limit is {limit:,} bytes")
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > limit:
            raise HTTPException(413, f"upload is over the limit of {limit:,} bytes")
    return bytes(buf)


def parse_multipart(body: bytes, content_type: str) -> tuple[bytes | None, dict[str, str]]:
    """(first file's bytes, other text fields) of a multipart/form-data body, parsed in memory."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not msg.is_multipart():
        raise HTTPException(400, "malformed multipart body")
    data, fields = None, {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None or name in ("file", "photo", "image"):
            if data is None:
                data = payload
        elif name:
            fields[str(name)] = payload.decode("utf-8", "replace")
    return data, fields


# ----------------------------------------------------------------------------- app
def create_app(model: str, split: str = "uniform", detector: str = "auto", max_upload_bytes: int = MAX_UPLOAD_BYTES,
               max_pixels: int = MAX_PIXELS, tta: bool | None = None) -> FastAPI:
    """The app for one run directory (models load now: a missing model fails here, not per request)."""
    from .analyze import get_analyzer

    analyzer = get_analyzer(model, split, detector, tta)
    lock = threading.Lock()  # one analysis at a time: on 2 cores, parallel ones only thrash
    app = FastAPI(
        title="maskprivacy: does a face mask protect my privacy?",
        description="Upload a photo; every face is found, aligned to UTKFace's geometry, and read by attacker "
                    "models trained on bare and masked faces, as it is and with a digital mask. Send the image "
                    "bytes as the request body (Content-Type: image/jpeg, image/png, ...) or as a multipart form "
                    "field `file`. Photos stay in memory and are never stored or logged.",
        version="1")
    models = [analyzer.models.name(c) for c in (False, True) if analyzer.models.get(c) is not None]
    page = resources.files(__package__).joinpath("templates/index.html").read_text(encoding="utf-8")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        return page

    @app.get("/api/health", response_model=Health, summary="Which models and options this server has")
    def health() -> Health:
        return Health(model=str(analyzer.models.run), models=models, detector=analyzer.detector_backend,
                      styles=list(STYLES), max_upload_bytes=max_upload_bytes, max_pixels=max_pixels)

    @app.post(
        "/api/analyze", response_model=AnalyzeResponse, summary="Analyse every face of a photo",
        responses={400: {"description": "empty or malformed upload"}, 413: {"description": "too many bytes or pixels"},
                   415: {"description": "not an image"}},
        openapi_extra={"requestBody": {"required": True, "description": "the photo (kept in memory only)", "content": {
            **{t: {"schema": {"type": "string", "format": "binary"}} for t in IMAGE_TYPES},
            "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                "file": {"type": "string", "format": "binary"}}}}}}})
    async def analyze_photo(
        request: Request,
        mask_style: str = Query("a", description=f"digital mask: {', '.join(STYLES)}, or none"),
        mask_color: str = Query("white", description="white, a name, R,G,B, #RRGGBB or random"),
        already_masked: Literal["auto", "yes", "no"] = Query(
            "auto", description="does the photo show real masks? auto: a colour check decides per face"),
        images: bool = Query(False, description="include the aligned and masked faces as JPEG data URLs"),
    ) -> dict[str, Any]:
        from ..data.imageio import ImageError, decode_image

        body = await read_body(request, max_upload_bytes)
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("multipart/form-data"):
            data, fields = parse_multipart(body, ctype)
            mask_style = fields.get("mask_style", mask_style)
            mask_color = fields.get("mask_color", mask_color)
            already_masked = fields.get("already_masked", already_masked)  # type: ignore[assignment]
            if data is None:
                raise HTTPException(400, "the form has no file field: send the photo as `file`")
        else:
            data = body
        if not data:
            raise HTTPException(400, "empty upload: send the photo's bytes")
        if mask_style not in (*STYLES, "none"):
            raise HTTPException(422, f"mask_style must be one of {', '.join(STYLES)} or none")
        if already_masked not in ("auto", "yes", "no"):
            raise HTTPException(422, "already_masked must be auto, yes or no")
        try:
            rgb = decode_image(data, max_pixels=max_pixels)
        except ImageError as e:
            code = 413 if e.kind == "too_large" else 415
            what = "this image is too large" if code == 413 else "this file is not a readable image"
            raise HTTPException(code, f"{what} ({e.reason})") from None
        flag = {"auto": None, "yes": True, "no": False}[already_masked]

        def work() -> dict[str, Any]:
            with lock:
                return analyzer.analyze(rgb, mask_style, mask_color, flag).to_dict(images=images)

        try:
            return await run_in_threadpool(work)
        except ValueError as e:  # e.g. a bad colour
            raise HTTPException(422, str(e)) from None

    return app
