"""Decoding untrusted image bytes into RGB arrays, refusing what should not be decoded.

Bad input is normal input: empty files, truncated JPEGs, text named ``.jpg``, CMYK, 16-bit,
RGBA and decompression bombs all reach this function. Each becomes either a clean RGB uint8
array or an :class:`ImageError` whose message is the reason written to the report.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

# Refuse rather than decode: a 20000x20000 image is 1.2 GB of RGB. Checked from the header.
DEFAULT_MAX_PIXELS = 40_000_000
# The formats photos come in (MPO, a phone camera's multi-picture JPEG, opens as JPEG). Pillow knows
# about 40 more, and some decode while they are opened, before any size check: ICO and ICNS embed a
# PNG whose real size their header does not state. Only these are ever opened.
FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF")
# A progressive JPEG is decoded scan by scan, and each scan costs a pass over the whole image: a file
# repeating one scan 10,000 times held a decoder several times longer than the image needs. Encoders write about 10
# scans (libjpeg's progressive default) and mozjpeg at most a few dozen; more is refused undecoded.
MAX_JPEG_SCANS = 100

ImageFile.LOAD_TRUNCATED_IMAGES = False


class ImageError(ValueError):
    """Image bytes that cannot or should not be decoded; ``kind`` is a short status code."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def read_image_in(root: str | os.PathLike, relpath: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode the photo ``relpath`` names inside the folder ``root``.

    A labels file is input too: a path that leaves ``root`` (``../x.jpg``, an absolute path, a link out)
    is refused unread, and a missing file is an :class:`ImageError` ("no such file") like any other
    unreadable photo. Other read errors surface as ``OSError``.
    """
    p = Path(root) / relpath
    if not p.resolve().is_relative_to(Path(root).resolve()):
        raise ImageError("unreadable", "path leaves the images folder")
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ImageError("unreadable", "no such file") from None
    return decode_image(data, max_pixels)


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode ``data`` to an RGB ``uint8`` array of shape (H, W, 3).

    Grayscale, palette, CMYK and 16-bit images are converted; alpha is composited on white
    (a transparent background must not look like a black face). Raises :class:`ImageError`.
    """
    if len(data) == 0:
        raise ImageError("unreadable", "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        other = sniff_format(data)
        if other:
            raise ImageError(
                "unreadable", f"format {other} is not accepted (only {', '.join(FORMATS)}); refused unopened"
            ) from None
        raise ImageError("unreadable", "not an image: the bytes match no known image format") from None
    except Image.DecompressionBombError as e:
        m = re.search(r"\((\d+) pixels\)", str(e))
        claimed = f"{int(m.group(1)):,} pixels" if m else "too many pixels"
        raise ImageError(
            "too_large", f"header claims {claimed}, over the limit of {max_pixels:,}; refused without decoding"
        ) from None
    except Exception as e:  # noqa: BLE001 - any decoder failure is a reason for the report
        raise ImageError("unreadable", f"cannot open image: {e}") from None
    w, h = im.size
    if w * h > max_pixels:
        raise ImageError(
            "too_large", f"{w}x{h} = {w * h:,} pixels is over the limit of {max_pixels:,}; refused without decoding"
        )
    if w == 0 or h == 0:
        raise ImageError("unreadable", f"image has no pixels ({w}x{h})")
    if im.format in ("JPEG", "MPO"):
        # Every scan starts with an SOS marker (FF DA), which entropy-coded data cannot contain (an FF
        # there is followed by 00 or a restart marker): the count is exact, plus any EXIF thumbnail's.
        scans = data.count(b"\xff\xda")
        if scans > MAX_JPEG_SCANS:
            raise ImageError(
                "too_large", f"a JPEG of {scans:,} scans, over the limit of {MAX_JPEG_SCANS}; refused without decoding"
            )
    if im.format == "JPEG" and im.mode in ("RGB", "L") and data.rstrip(b"\x00")[-2:] == b"\xff\xd9":
        # Fast path (libjpeg-turbo, faster than PIL): a complete baseline JPEG. cv2 applies EXIF orientation
        # like the PIL path below; anything it cannot decode falls through to PIL's stricter decoder.
        import cv2

        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if bgr is not None and bgr.shape[0] * bgr.shape[1] == w * h:
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im.load()
            # In place: without it Pillow returns a full copy even when nothing turns (30 MP: +90 MB).
            ImageOps.exif_transpose(im, in_place=True)
    except Exception as e:  # noqa: BLE001
        raise ImageError("unreadable", f"truncated or corrupt image data: {e}") from None
    return to_rgb(im)


def sniff_format(data: bytes) -> str | None:
    """The name of a format outside :data:`FORMATS` whose signature ``data`` starts with, or None.

    Asks each Pillow plugin's own signature check (its ``accept`` function) without opening the file,
    so that a refusal can say what the file is ("format ICO") instead of "not an image".
    """
    Image.init()
    prefix = data[:16]
    for fmt in Image.ID:
        if fmt in FORMATS:
            continue
        accept = Image.OPEN[fmt][1]
        try:
            if accept is not None and accept(prefix) is True:
                return fmt
        except Exception:  # noqa: BLE001 - a plugin's check failing on odd bytes is no match
            continue
    return None


def to_rgb(im: Image.Image) -> np.ndarray:
    """Convert any PIL mode to RGB uint8, scaling 16/32-bit data instead of clipping it."""
    mode = im.mode
    if mode == "RGB":
        return np.asarray(im)
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") else max(float(a.max()), 1.0)
        g = np.clip(a / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(g[:, :, None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(bg, rgba).convert("RGB"))
    return np.asarray(im.convert("RGB"))


def encode_jpeg(rgb: np.ndarray, quality: int = 95) -> bytes:
    """Encode RGB to JPEG deterministically (same array, same bytes)."""
    import cv2

    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()
