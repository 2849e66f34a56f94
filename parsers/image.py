"""Load a raster image from bytes for OCR: pixel limit, EXIF orientation, RGB.

``load_image(data)`` checks the declared size *before* decoding, so a decompression bomb costs
nothing (PIL's own bomb check, which fires at twice ``Image.MAX_IMAGE_PIXELS``, also maps to
``TooLargeError``); it then applies the EXIF orientation tag, takes the first frame of
multi-frame files and returns an RGB ``PIL.Image``. Corrupt or truncated files raise
``InputError``; images over ``max_pixels`` raise ``TooLargeError``. It does not OCR anything.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from prunestack.errors import InputError, TooLargeError

#: Default pixel limit: 50 megapixels (an A4 page at 600 dpi is ~35 MP).
MAX_PIXELS = 50_000_000


def load_image(data: bytes, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode ``data`` into an upright RGB image of at most ``max_pixels`` pixels."""
    try:
        with warnings.catch_warnings():
            # PIL warns (or raises) on its own bomb limit; we enforce ours from the header first.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > max_pixels:
                raise TooLargeError(
                    f"image is {w}x{h} = {w * h:,} pixels, over the limit of {max_pixels:,}",
                    "downscale the image or raise the pixel limit",
                )
            if w == 0 or h == 0:
                raise InputError(f"image has no pixels ({w}x{h})")
            img.seek(0)
            img.load()
            return ImageOps.exif_transpose(img).convert("RGB")
    except (TooLargeError, InputError):
        raise
    except Image.DecompressionBombError as exc:
        raise TooLargeError(f"image is over the pixel limit: {exc}") from None
    except UnidentifiedImageError:
        raise InputError("the image cannot be decoded (unknown or corrupt image data)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(f"the image is corrupt or truncated: {exc}") from None
