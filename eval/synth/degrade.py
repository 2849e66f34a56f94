"""Scan degradation: turn a rendered page image into something that looks scanned or photographed.

Pure functions on ``uint8`` grayscale arrays ``[H, W]`` (rasterising is done by the caller with
pypdfium2): small rotation, perspective warp, Gaussian blur, low contrast, sensor noise and a JPEG
round trip, each with parameters drawn from a seeded ``numpy.random.Generator`` within the ranges
of :class:`ScanConfig`. The drawn parameters are returned so a record can state its degradation.
This module does not decide which documents are scanned (see :mod:`eval.synth.generate`).
"""

from __future__ import annotations

import io
from typing import Any

import cv2
import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field


class ScanConfig(BaseModel):
    """Ranges of each degradation; a value is drawn uniformly per document."""

    model_config = ConfigDict(extra="forbid")

    dpi: int = Field(default=150, ge=72, le=400)
    max_rotation_deg: float = Field(default=2.5, ge=0, le=15)
    max_perspective: float = Field(default=0.025, ge=0, le=0.15,
                                   description="corner shift / side")
    blur_sigma: tuple[float, float] = (0.0, 1.1)
    contrast: tuple[float, float] = (0.6, 1.0)
    noise_sigma: tuple[float, float] = (2.0, 10.0)
    jpeg_quality: tuple[int, int] = (35, 85)


def rotate(img: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate about the centre, keeping the size; uncovered corners are white paper."""
    h, w = img.shape[:2]
    mat = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    return cv2.warpAffine(img, mat, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=255)


def perspective(img: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Move the four corners by ``shifts`` [4, 2] (fractions of width/height), inward-positive."""
    h, w = img.shape[:2]
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)  # [4, 2]
    sign = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], dtype=np.float32)
    dst = src + sign * shifts.astype(np.float32) * np.array([w, h], dtype=np.float32)
    mat = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(img, mat, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=255)


def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return img if sigma <= 0.05 else cv2.GaussianBlur(img, (0, 0), sigma)


def low_contrast(img: np.ndarray, factor: float) -> np.ndarray:
    """Compress the range towards light grey: ink gets lighter, paper stays near white."""
    out = 255.0 - (255.0 - img.astype(np.float32)) * factor
    return np.clip(out, 0, 255).astype(np.uint8)


def noise(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    out = img.astype(np.float32) + rng.normal(0.0, sigma, img.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=int(quality))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))


def degrade(img: np.ndarray, rng: np.random.Generator, cfg: ScanConfig | None = None
            ) -> tuple[np.ndarray, dict[str, Any]]:
    """Apply every degradation once, in scanner order; returns (image [H, W] uint8, params)."""
    cfg = cfg or ScanConfig()
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    params: dict[str, Any] = {
        "rotation_deg": float(rng.uniform(-cfg.max_rotation_deg, cfg.max_rotation_deg)),
        "perspective": [[float(v) for v in row]
                        for row in rng.uniform(0, cfg.max_perspective, (4, 2))],
        "blur_sigma": float(rng.uniform(*cfg.blur_sigma)),
        "contrast": float(rng.uniform(*cfg.contrast)),
        "noise_sigma": float(rng.uniform(*cfg.noise_sigma)),
        "jpeg_quality": int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1)),
    }
    out = perspective(img, np.asarray(params["perspective"]))
    out = rotate(out, params["rotation_deg"])
    out = blur(out, params["blur_sigma"])
    out = low_contrast(out, params["contrast"])
    out = noise(out, params["noise_sigma"], rng)
    out = jpeg(out, params["jpeg_quality"])
    return out, params


def severity(params: dict[str, Any], cfg: ScanConfig | None = None) -> float:
    """0 (clean) … 1 (every parameter at its worst), the mean of the normalised parameters."""
    cfg = cfg or ScanConfig()
    parts = [
        abs(params["rotation_deg"]) / max(cfg.max_rotation_deg, 1e-9),
        float(np.mean(params["perspective"])) / max(cfg.max_perspective, 1e-9),
        params["blur_sigma"] / max(cfg.blur_sigma[1], 1e-9),
        (1.0 - params["contrast"]) / max(1.0 - cfg.contrast[0], 1e-9),
        params["noise_sigma"] / max(cfg.noise_sigma[1], 1e-9),
        (cfg.jpeg_quality[1] - params["jpeg_quality"])
        / max(cfg.jpeg_quality[1] - cfg.jpeg_quality[0], 1),
    ]
    return float(np.clip(np.mean(parts), 0, 1))
