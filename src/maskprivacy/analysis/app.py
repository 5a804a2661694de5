"""The web page and JSON API: upload a photo, see what the models read with and without a mask.

Privacy of the service itself (it handles photos of people):

* uploads are read into memory with a byte limit and decoded with a pixel limit checked from the
  header (``decode_image``); they are never written to disk: the body is read directly (Starlette's
  own form parser would spool files over 1 MB to a temporary file), multipart forms are parsed in
  memory with python-multipart (:mod:`.uploads`), and the response carries only derived 200-px
  crops when asked;
* nothing about a request body reaches a log (the access log is off; errors name the reason only);
* the server binds 127.0.0.1 unless told otherwise.

Robustness of the service itself (any web page the user has open can send it requests):

* cross-site use is refused: ``/api/analyze`` takes only ``image/*`` and ``multipart/form-data``
  bodies (415 otherwise); a request whose ``Origin`` is not the server's own gets 403; the ``Host``
  header must name the server (Starlette's ``TrustedHostMiddleware``: a DNS-rebinding page cannot
  reach a 127.0.0.1 service under its own domain name);
* every response carries ``X-Content-Type-Options: nosniff``, a Content-Security-Policy (the page's
  inline script and style are allowed by their hashes, nothing else), ``X-Frame-Options: DENY`` and
  ``Referrer-Policy: no-referrer``; Swagger UI (``/docs``) loads from a CDN, so it is off unless asked;
* a body with both ``Content-Length`` and ``Transfer-Encoding`` (ambiguous framing, the stuff of
  request smuggling) or with two different lengths is refused (400) and its connection closed;
* decoding and analysis run in worker threads, never on the event loop, and at most
  ``max_concurrent`` photos are decoded and analysed at once; up to ``max_waiting`` more wait
  ``wait_s`` seconds for a slot, anything beyond gets 503 with ``Retry-After`` (:mod:`.slots`). Only
  a request whose body is complete takes a place: bodies still arriving are counted apart (at most
  ``max_receiving``), and one that arrives slower than the pace of :mod:`.uploads` is answered 408;
* a photo holds its slot for at most ``budget_s`` seconds of decoding and analysis: past it the
  request gets 503 and the worker stops when its current step ends. Decoding itself is bounded by
  what ``decode_image`` refuses unopened (pixels, JPEG scans, formats that decode while opening).
  Memory therefore has a ceiling: (``max_receiving`` + ``max_concurrent`` + ``max_waiting``) upload
  bodies plus ``max_concurrent`` decoded photos and their detection work, each bounded by the pixel
  limit (docs/ANALYZE.md states it);
* an error message is at most ``MAX_DETAIL`` characters and quotes at most a short prefix of a value.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Sequence

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from maskprivacy.analysis.analyzer import get_analyzer
from maskprivacy.analysis.limits import (
    MAX_CONCURRENT,
    MAX_PIXELS,
    MAX_RECEIVING,
    MAX_UPLOAD_BYTES,
    MAX_WAITING,
    PROCESS_BUDGET_S,
    WAIT_S,
)
from maskprivacy.analysis.protect_api import protect_router
from maskprivacy.analysis.receive import Intake, photo_body
from maskprivacy.analysis.schema import Photo
from maskprivacy.analysis.security import CSP_DOCS, LOOPBACK, MAX_DETAIL, Guard, page_csp
from maskprivacy.analysis.slots import Slots, Ticket
from maskprivacy.analysis.uploads import Pace, wants_images
from maskprivacy.data.imageio import decode_image
from maskprivacy.faces.detect import get_detector
from maskprivacy.masking.draw import STYLES
from maskprivacy.memtrim import return_freed_memory

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/bmp", "image/tiff", "image/gif")


# ----------------------------------------------------------------------------- health
class Health(BaseModel):
    model: str = Field(description="the run directory's name (never its path)")
    models: list[str]
    detector: str
    styles: list[str]
    max_upload_bytes: int
    max_pixels: int
    max_concurrent: int = Field(description="photos decoded and analysed at once")
    max_waiting: int = Field(description="requests whose body is complete that may wait for a slot; beyond that: 503")
    max_receiving: int = Field(description="uploads whose body may be arriving at once; beyond that: 503")
    budget_s: float = Field(description="seconds of decoding and analysis one photo may take; beyond that: 503")


# ----------------------------------------------------------------------------- app
def create_app(
    model: str,
    split: str = "uniform",
    detector: str = "auto",
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    max_pixels: int = MAX_PIXELS,
    tta: bool | None = None,
    *,
    max_concurrent: int = MAX_CONCURRENT,
    max_waiting: int = MAX_WAITING,
    wait_s: float = WAIT_S,
    max_receiving: int = MAX_RECEIVING,
    budget_s: float = PROCESS_BUDGET_S,
    pace: Pace = Pace(),
    allowed_hosts: Sequence[str] | None = None,
    docs: bool = False,
) -> FastAPI:
    """The app for one run directory (models load now: a missing model fails here, not per request).

    ``allowed_hosts``: Host header values served (default: loopback names; see
    :func:`.security.allowed_hosts_for`). ``docs``: serve Swagger UI at /docs (its assets come from a CDN).
    ``pace``: how fast a body must arrive (:class:`.uploads.Pace`); ``budget_s``: seconds of
    decoding and analysis one photo may hold its slot.
    """
    analyzer = get_analyzer(model, split, detector, tta)
    get_detector(detector).isolate_cnn()  # dlib's CNN holds the GIL for seconds: not in this process
    if budget_s <= 0:
        raise ValueError("budget_s must be > 0")
    slots = Slots(max_concurrent, max_waiting, wait_s, max_receiving)
    intake = Intake(slots, max_upload_bytes, max_pixels, budget_s, pace)
    return_freed_memory()  # a server must shrink back after a 30 MP photo
    app = FastAPI(
        title="maskprivacy: does a face mask protect my privacy?",
        description="Upload a photo; every face is found, aligned to UTKFace's geometry, and read by attacker "
        "models trained on bare and masked faces, as it is and with a digital mask. Send the image "
        "bytes as the request body (Content-Type: image/jpeg, image/png, ...) or as a multipart form "
        "field `file`. Photos stay in memory and are never stored or logged.",
        version="1",
        docs_url="/docs" if docs else None,
        redoc_url=None,
    )
    app.state.slots = slots
    models = analyzer.models.names()
    model_name = analyzer.models.run.resolve().name
    page = resources.files(__package__).joinpath("templates/index.html").read_text(encoding="utf-8")
    csp = {"/": page_csp(page), **({"/docs": CSP_DOCS} if docs else {})}
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts or LOOPBACK), www_redirect=False)
    app.add_middleware(Guard, csp=csp)  # added last: outermost, so even a refused Host gets the headers

    @app.exception_handler(StarletteHTTPException)
    async def short_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """FastAPI's answer, with the message cut to ``MAX_DETAIL`` characters."""
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return JSONResponse({"detail": detail[:MAX_DETAIL]}, exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def short_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        """Where and why, never the value sent (FastAPI's own answer echoes it whole)."""
        errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))[:200]} for e in exc.errors()[:5]]
        return JSONResponse({"detail": errors}, 422)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> str:
        return page

    @app.get("/api/health", response_model=Health, summary="Which models and options this server has")
    async def health() -> Health:
        return Health(
            model=model_name,
            models=models,
            detector=analyzer.detector_backend,
            styles=list(STYLES),
            max_upload_bytes=max_upload_bytes,
            max_pixels=max_pixels,
            max_concurrent=slots.n,
            max_waiting=slots.waiting,
            max_receiving=slots.max_receiving,
            budget_s=budget_s,
        )

    @app.post(
        "/api/analyze",
        response_model=Photo,
        summary="Analyse every face of a photo",
        responses={
            400: {"description": "empty or malformed upload, a form of too many parts, ambiguous framing"},
            403: {"description": "cross-origin request"},
            408: {"description": "the body arrived too slowly"},
            413: {"description": "too many bytes, pixels or JPEG scans"},
            415: {
                "description": "not an image, a format not accepted, or a body neither image/* nor multipart/form-data"
            },
            422: {"description": "a bad or repeated option (mask_style, mask_color, already_masked, images)"},
            503: {"description": "busy (see Retry-After), or over the time budget for decoding and analysis"},
        },
        openapi_extra=photo_body(IMAGE_TYPES),
    )
    async def analyze_photo(
        request: Request,
        mask_style: str = Query("a", description=f"digital mask: {', '.join(STYLES)}, or none"),
        mask_color: str = Query("white", description="white, a name, R,G,B, #RRGGBB or random"),
        already_masked: str = Query(
            "auto",
            description="does the photo show real masks? auto: the run's mask detector (else a colour check) decides "
            "per face",
            json_schema_extra={"enum": ["auto", "yes", "no"]},
        ),
        images: str = Query("false", description="true: include the aligned and masked faces as JPEG data URLs"),
    ) -> Any:
        # The parameters above document the API; the options are parsed once, from the raw query string
        # (and the form's fields), by :meth:`.receive.Intake.receive_and_run`.
        return await intake.receive_and_run(request, decode_image, work)

    def work(rgb: np.ndarray, opts: dict[str, str], ticket: Ticket) -> dict[str, Any]:
        """Analyse one decoded upload (a worker thread, holding a slot); stops between steps past the budget."""
        flag = {"auto": None, "yes": True, "no": False}[opts["already_masked"]]
        try:
            d = analyzer.analyze(rgb, opts["mask_style"], opts["mask_color"], flag).to_dict(images=wants_images(opts))
        except ValueError as e:  # a bad option the checks above did not foresee
            raise HTTPException(422, str(e)[:MAX_DETAIL]) from None
        d["model"] = model_name  # the run's name, not a path on this machine
        return d

    app.include_router(protect_router(analyzer, intake))
    return app
