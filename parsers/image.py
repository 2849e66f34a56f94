"""Load raster images from bytes for OCR: pixel limit, EXIF orientation, pages, white background.

``load_pages(data)`` checks the declared size *before* decoding, so a decompression bomb costs
nothing (PIL's own bomb check, which fires at twice ``Image.MAX_IMAGE_PIXELS``, also maps to
``TooLargeError``): ``max_pixels`` bounds the pixels one page is *decoded* at (its memory; the
server sets it lower than the default ``MAX_PIXELS``), so a larger PNG, TIFF... is refused, and a
larger JPEG is decoded at 1/2, 1/4 or 1/8 scale where that fits (up to ``MAX_PIXELS`` declared,
or ``max_pixels`` if larger). Then, per page, it applies the EXIF orientation tag, flattens
transparency onto white (a transparent PNG with black text is black-on-black once its alpha is
dropped), maps 16-bit grey onto 8 bits (PIL's own conversion clips it to white) and
shrinks anything over ``work_pixels`` (default 20 MP: a phone photo of a receipt is 12-200 MP, and
OCR gains nothing from more; a JPEG is decoded straight at 1/2, 1/4 or 1/8 size, so a huge one
never needs its full-size bitmap in memory). Every frame of a multi-page TIFF (a fax, a scanner's
batch) is a page; the other formats' extra frames are animation, so only their first counts.
Each page comes back as an upright RGB ``PIL.Image`` with the factor that maps its pixels to the
original image's (``1.0`` when not shrunk); ``pages=[n]`` decodes only page ``n`` (callers that
OCR page by page hold one decoded page at a time). ``load_image`` is the first page only.

Corrupt or truncated files raise ``InputError``; images over ``max_pixels`` ``TooLargeError``.
A cancelled API request (``prunestack.cancel``) stops between the decoding steps of a page
(decode, orientation, flattening, shrinking), each a second or more on a 100 MP page.
It does not OCR anything.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from prunestack.cancel import checkpoint
from prunestack.errors import InputError, TooLargeError

#: Refusal limit: 150 megapixels (a 108 MP phone photo passes; an A4 page at 600 dpi is ~35 MP).
MAX_PIXELS = 150_000_000
#: Pages larger than this are shrunk before OCR (boxes are scaled back to original pixels).
WORK_PIXELS = 20_000_000
#: Most pages read from one multi-page TIFF.
MAX_TIFF_PAGES = 500


def count_pages(data: bytes) -> int:
    """Pages of ``data``: the frames of a TIFF, 1 for any other image (read from the header)."""
    with _decoding():
        img = Image.open(io.BytesIO(data))
        frames = getattr(img, "n_frames", 1) if img.format == "TIFF" else 1
        if frames > MAX_TIFF_PAGES:
            raise TooLargeError(f"the TIFF has {frames} pages, over {MAX_TIFF_PAGES}",
                                "split it into smaller files")
        return frames


def load_pages(data: bytes, *, max_pixels: int = MAX_PIXELS, work_pixels: int = WORK_PIXELS,
               pages: Sequence[int] | None = None) -> list[tuple[Image.Image, float]]:
    """``(upright RGB page, original pixels per page pixel)`` for each page of ``data`` (or for
    the 1-based page numbers in ``pages``); all decoded at once — see :func:`iter_pages`."""
    return list(iter_pages(data, max_pixels=max_pixels, work_pixels=work_pixels, pages=pages))


def iter_pages(data: bytes, *, max_pixels: int = MAX_PIXELS, work_pixels: int = WORK_PIXELS,
               pages: Sequence[int] | None = None, frames: int | None = None
               ) -> Iterator[tuple[Image.Image, float]]:
    """The pages of :func:`load_pages` one at a time from one open image (a 300-page fax TIFF is
    opened and counted once, and only the current page is held decoded). ``frames``: the page
    count when the caller has it already (``parsers.ingest.Upload.pages``)."""
    if work_pixels < 1:
        raise ValueError("work_pixels must be positive")
    frames = count_pages(data) if frames is None else frames
    numbers = list(range(1, frames + 1)) if pages is None else list(pages)
    with _decoding():
        img = Image.open(io.BytesIO(data))
        for number in numbers:
            if not 1 <= number <= frames:
                raise InputError(f"page {number} out of range 1..{frames}")
            img.seek(number - 1)
            yield _page(img, max_pixels, work_pixels, number if frames > 1 else 0)


@contextmanager
def _decoding() -> Iterator[None]:
    """Decoder failures as ``InputError`` / ``TooLargeError``."""
    try:
        with warnings.catch_warnings():
            # PIL warns (or raises) on its own bomb limit; we enforce ours from the header first.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    except (TooLargeError, InputError):
        raise
    except Image.DecompressionBombError as exc:
        raise TooLargeError(f"image is over the pixel limit: {exc}") from None
    except UnidentifiedImageError:
        raise InputError("the image cannot be decoded (unknown or corrupt image data)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(f"the image is corrupt or truncated: {exc}") from None


def load_image(data: bytes, *, max_pixels: int = MAX_PIXELS,
               work_pixels: int | None = None) -> Image.Image:
    """The first page of ``data``, upright RGB, at most ``max_pixels`` (not shrunk unless
    ``work_pixels`` is given)."""
    return load_pages(data, max_pixels=max_pixels, work_pixels=work_pixels or max_pixels,
                      pages=[1])[0][0]


def _page(img: Image.Image, max_pixels: int, work_pixels: int, frame: int
          ) -> tuple[Image.Image, float]:
    w, h = img.size
    where = f"page {frame} of the image" if frame else "image"
    jpeg = img.format == "JPEG"
    # a JPEG decodes at 1/2, 1/4 or 1/8 scale: one over max_pixels is read reduced to fit
    # (never past what 1/8 scale can bring under it, nor past the hard MAX_PIXELS limit)
    cap = max(max_pixels, MAX_PIXELS) if jpeg else max_pixels
    if w * h > min(cap, max_pixels * 64):
        raise TooLargeError(
            f"{where} is {w}x{h} = {w * h:,} pixels, over the limit of {max_pixels:,} pixels "
            "decoded per page", "downscale the image, or raise the pixel limit: the server's "
            "PRUNESTACK_MAX_PIXELS")
    if w == 0 or h == 0:
        raise InputError(f"{where} has no pixels ({w}x{h})")
    factor = math.sqrt(w * h / work_pixels) if w * h > work_pixels else 1.0
    if jpeg and (factor > 1.0 or w * h > max_pixels):
        # decode at 1/2, 1/4 or 1/8 scale (never below the working size): no full-size bitmap
        want = (math.ceil(w / factor), math.ceil(h / factor))
        if w * h > max_pixels:  # and small enough to be decoded within max_pixels
            k = math.ceil(math.log(w * h / max_pixels, 4))
            want = (min(want[0], math.ceil(w / 2**k)), min(want[1], math.ceil(h / 2**k)))
        img.draft(img.mode, want)
        if img.width * img.height > max_pixels:
            raise TooLargeError(
                f"{where} is {w}x{h} pixels; read at a reduced scale it is "
                f"{img.width}x{img.height}, over the limit of {max_pixels:,} pixels decoded "
                "per page",
                "downscale the image, or raise the pixel limit: the server's "
                "PRUNESTACK_MAX_PIXELS")
        factor = max(factor, w / img.width)  # drafted below the working size's request
    checkpoint("image decoding")
    img.load()
    checkpoint("image decoding")
    upright = ImageOps.exif_transpose(img)
    checkpoint("image decoding")
    out = _on_white(upright)
    checkpoint("image decoding")
    if factor > 1.0:
        turned = upright.size == img.size[::-1] and img.width != img.height  # EXIF 5-8
        ow, oh = (h, w) if turned else (w, h)
        target = (max(1, int(ow / factor)), max(1, int(oh / factor)))  # floor: <= work_pixels
        if out.size != target:
            out = out.resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)
        factor = ow / out.width
    return out, factor


def _on_white(img: Image.Image) -> Image.Image:
    """RGB, with any transparency composited onto a white page."""
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
            img.mode in ("P", "L", "RGB", "1") and "transparency" in img.info):
        rgba = img.convert("RGBA")
        page = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        page.alpha_composite(rgba)
        return page.convert("RGB")
    if img.mode.startswith("I"):
        # 16-bit grey (scanners write it): PIL's convert clips every value over 255 to white, so
        # all but the darkest ink vanished; map the 16-bit range onto 8 bits instead
        arr = np.asarray(img, dtype=np.float64)  # [H, W]
        if arr.max(initial=0) > 255:
            arr = arr / 257.0
        img = Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "L")
    return img.convert("RGB")
