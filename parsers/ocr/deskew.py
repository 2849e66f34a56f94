"""Page skew from the pixels, and the levelled frame an OCR page's boxes are put in.

A scan rotated by 1–3° puts the cells of one table row at different heights (the right end of a
row sits 20–40 px above or below its left end on a 1200 px page), so row grouping in the layout
stage pairs a description with the next row's numbers, or drops it. ``estimate_skew`` finds the
page's rotation with the classic projection-profile method: rotate a downscaled ink mask by
candidate angles and keep the one whose row sums are sharpest (text lines become thin dense
bands). ``estimate_skew_bands`` repeats the search per horizontal band (a perspective-warped scan
tilts its top and bottom lines differently). ``level_frame`` describes the levelling as the
page's ``PageFrame`` (``pipeline.document``): rotations about the page centre by the angle
interpolated at each line's height, so lines of one visual row share a baseline. The OCR backend
puts its line and character quadrilaterals on that levelled page (``PageFrame.level_points``:
their corners turned level, then their tight boxes), the layout step works there, then
``parsers.layout`` maps every box back onto the scan with the same frame.

The image itself is not rotated and not re-recognised, and no box is moved here; boxes of a
levelled page differ from the scan's pixels by at most ``sin(angle)`` times the page size (≈ 5 %
of a side at the 3° bound). Perspective warp is only approximated by the bands. Pure numpy + PIL.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from prunestack.pipeline.document import PageFrame, TiltBand

#: Largest rotation searched for, in degrees (either direction).
MAX_SKEW_DEG = 5.0
#: Rotations smaller than this are left alone: over a 1000 px row 0.5° drifts ~9 px, well under
#: a text line, which row grouping tolerates (levelling a 0.25° test scan reshuffled its columns).
MIN_SKEW_DEG = 0.5
#: Horizontal bands with an angle of their own, and how far a band's angle may stray from the
#: whole page's.
BANDS = 4
BAND_RANGE_DEG = 1.5
#: The ink mask is downscaled to at most this many pixels on its longer side.
_WORK_SIDE = 900


def _ink_mask(gray: np.ndarray) -> np.ndarray:
    """Ink (1.0) vs background (0.0), float32 [H, W], from a grayscale page [H, W]."""
    lo, hi = float(np.percentile(gray, 1)), float(np.percentile(gray, 99))
    if hi - lo < 40:
        return np.zeros_like(gray, dtype=np.float32)
    return (gray < lo + 0.5 * (hi - lo)).astype(np.float32)


def _sharpness(mask: Image.Image, angle: float) -> float:
    rows = np.asarray(mask.rotate(angle, resample=Image.Resampling.BILINEAR)).sum(axis=1)  # [H]
    return float(np.square(np.diff(rows)).sum())


def _search(img: Image.Image, lo: float, hi: float, step: float) -> float:
    coarse = np.arange(lo, hi + 1e-9, step)
    best = float(max(coarse, key=lambda a: _sharpness(img, float(a))))
    fine = np.arange(best - step, best + step + 1e-9, 0.05)
    return round(float(max(fine, key=lambda a: _sharpness(img, float(a)))), 2)


def _work_image(mask: np.ndarray) -> Image.Image:
    scale = min(1.0, _WORK_SIDE / max(mask.shape))
    img = Image.fromarray((mask * 255).astype(np.uint8))
    if scale < 1.0:
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.Resampling.BILINEAR)
    return img


def estimate_skew(gray: np.ndarray, max_deg: float = MAX_SKEW_DEG) -> float:
    """Counter-clockwise rotation (degrees) that makes the text lines of ``gray`` [H, W] level.

    0.0 for a blank page. Coarse search in 0.5° steps, then 0.05° steps around the best angle.
    """
    if gray.ndim != 2 or gray.size == 0:
        return 0.0
    mask = _ink_mask(gray)  # [H, W]
    if not mask.any():
        return 0.0
    return _search(_work_image(mask), -max_deg, max_deg, 0.5)


def estimate_skew_bands(gray: np.ndarray, n_bands: int = BANDS) -> list[tuple[float, float]]:
    """``(y centre, angle)`` per horizontal band of ``gray`` [H, W] that holds enough ink, each
    searched within ``BAND_RANGE_DEG`` of the whole page's angle: a perspective-warped scan's
    lines tilt differently at the top and the bottom. ``[]`` for a blank page."""
    if gray.ndim != 2 or gray.size == 0:
        return []
    mask = _ink_mask(gray)  # [H, W]
    if not mask.any():
        return []
    whole = _search(_work_image(mask), -MAX_SKEW_DEG, MAX_SKEW_DEG, 0.5)
    out = []
    h = gray.shape[0]
    for i in range(n_bands):
        y0, y1 = round(i * h / n_bands), round((i + 1) * h / n_bands)
        band = mask[y0:y1]  # [h_band, W]
        rows = np.nonzero(band.sum(axis=1) >= 2)[0]
        if band.mean() < 0.005 or rows.size < 0.1 * (y1 - y0):
            continue  # too little text for its own estimate
        out.append(((y0 + y1) / 2, _search(_work_image(band), whole - BAND_RANGE_DEG,
                                            whole + BAND_RANGE_DEG, 0.25)))
    return out or [(h / 2, whole)]


def level_frame(bands: list[tuple[float, float]], width: float, height: float
                ) -> PageFrame | None:
    """The frame a ``width`` × ``height`` page is levelled into with these ``(y, angle)`` bands;
    None when every angle is under ``MIN_SKEW_DEG`` (the page is left as it is)."""
    if not bands or all(abs(a) < MIN_SKEW_DEG for _, a in bands):
        return None
    return PageFrame(width=float(width), height=float(height),
                     tilt=tuple(TiltBand(y=float(y), degrees=float(a)) for y, a in bands))
