"""Page skew from the pixels, and OCR line boxes mapped into the deskewed frame.

A scan rotated by 1–3° puts the cells of one table row at different heights (the right end of a
row sits 20–40 px above or below its left end on a 1200 px page), so row grouping in the layout
stage pairs a description with the next row's numbers, or drops it. ``estimate_skew`` finds the
page's rotation with the classic projection-profile method: rotate a downscaled ink mask by
candidate angles and keep the one whose row sums are sharpest (text lines become thin dense
bands). ``deskew_lines`` then rotates every word box's centre about the page centre by that angle
(sizes kept) and rebuilds the line boxes, so lines of one visual row share a baseline.

The image itself is not rotated and not re-recognised; boxes of a deskewed page are in the
deskewed frame, which differs from the scan's pixels by at most ``sin(angle)`` times the page
size (≈ 5 % of a side at the 3° bound). Perspective warp is not corrected. Pure numpy + PIL.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from parsers.document import BBox
from parsers.primitives import Line, Word

#: Largest rotation searched for, in degrees (either direction).
MAX_SKEW_DEG = 5.0
#: Rotations smaller than this are left alone: over a 1000 px row 0.5° drifts ~9 px, well under
#: a text line, which row grouping tolerates (levelling a 0.25° test scan reshuffled its columns).
MIN_SKEW_DEG = 0.5
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


def estimate_skew(gray: np.ndarray, max_deg: float = MAX_SKEW_DEG) -> float:
    """Counter-clockwise rotation (degrees) that makes the text lines of ``gray`` [H, W] level.

    0.0 for a blank page. Coarse search in 0.5° steps, then 0.05° steps around the best angle.
    """
    if gray.ndim != 2 or gray.size == 0:
        return 0.0
    mask = _ink_mask(gray)  # [H, W]
    if not mask.any():
        return 0.0
    scale = min(1.0, _WORK_SIDE / max(mask.shape))
    img = Image.fromarray((mask * 255).astype(np.uint8))
    if scale < 1.0:
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.Resampling.BILINEAR)
    coarse = np.arange(-max_deg, max_deg + 1e-9, 0.5)
    best = max(coarse, key=lambda a: _sharpness(img, float(a)))
    fine = np.arange(best - 0.5, best + 0.5 + 1e-9, 0.05)
    return round(float(max(fine, key=lambda a: _sharpness(img, float(a)))), 2)


def _rotate_box(box: BBox, cos: float, sin: float, cx: float, cy: float) -> BBox:
    """``box`` with its centre rotated counter-clockwise (as displayed, y down); size kept."""
    dx, dy = box.cx - cx, (box.y0 + box.y1) / 2 - cy
    nx, ny = cx + dx * cos + dy * sin, cy - dx * sin + dy * cos
    hw, hh = box.width / 2, (box.y1 - box.y0) / 2
    return BBox(x0=nx - hw, y0=ny - hh, x1=nx + hw, y1=ny + hh)


def deskew_lines(lines: list[Line], angle_deg: float, width: float, height: float) -> list[Line]:
    """``lines`` with word boxes rotated by ``angle_deg`` about the page centre, line boxes
    rebuilt from their words, sorted top to bottom. Small angles return the input unchanged."""
    if abs(angle_deg) < MIN_SKEW_DEG or not lines:
        return lines
    a = math.radians(angle_deg)
    cos, sin, cx, cy = math.cos(a), math.sin(a), width / 2, height / 2
    out = []
    for line in lines:
        words = [Word(text=w.text, bbox=_rotate_box(w.bbox, cos, sin, cx, cy),
                      confidence=w.confidence, font_size=w.font_size, bold=w.bold)
                 for w in line.words]
        box = BBox(x0=min(w.bbox.x0 for w in words), y0=min(w.bbox.y0 for w in words),
                   x1=max(w.bbox.x1 for w in words), y1=max(w.bbox.y1 for w in words))
        out.append(Line(words=words, bbox=box, confidence=line.confidence))
    out.sort(key=lambda ln: (ln.bbox.y0, ln.bbox.x0))
    return out
