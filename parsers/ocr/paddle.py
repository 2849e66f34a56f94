"""PaddleOCR 3.x backend, used only when the ``paddleocr`` package and its models are local.

PaddleOCR 3.x ``predict`` returns one result per image with ``rec_texts``, ``rec_scores`` and
``rec_boxes`` (``[x0, y0, x1, y1]`` per text line). Each text line becomes one ``Line``; its words
get boxes by splitting the line box in proportion to their character counts (PaddleOCR does not
return word boxes). ``available()`` never downloads: it needs the package and a model folder,
either ``$PADDLEOCR_MODEL_DIR`` or PaddleX's cache (``~/.paddlex/official_models``) holding a
``*_det`` and a ``*_rec`` model.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from prunestack.parsers.errors import OcrUnavailableError
from prunestack.parsers.ocr.base import OcrBackend
from prunestack.parsers.primitives import Line, Word
from prunestack.pipeline.document import BBox


def _model_dir() -> Path | None:
    env = os.environ.get("PADDLEOCR_MODEL_DIR")
    cands = [Path(env)] if env else []
    cands.append(Path(os.environ.get("PADDLE_PDX_CACHE_HOME", Path.home() / ".paddlex"))
                 / "official_models")
    for d in cands:
        if d.is_dir():
            names = [p.name for p in d.iterdir() if p.is_dir()]
            if any(n.endswith("_det") for n in names) and any(n.endswith("_rec") for n in names):
                return d
    return None


def _pick(d: Path, suffix: str) -> tuple[str, Path]:
    cands = sorted(p for p in d.iterdir() if p.is_dir() and p.name.endswith(suffix))
    best = next((p for p in cands if "server" in p.name), cands[0])
    return best.name, best


@lru_cache(maxsize=1)
def _engine() -> Any:
    d = _model_dir()
    if d is None or importlib.util.find_spec("paddleocr") is None:
        raise OcrUnavailableError("PaddleOCR or its local models are missing",
                                  "pip install paddleocr and place its models locally")
    from paddleocr import PaddleOCR

    det_name, det_dir = _pick(d, "_det")
    rec_name, rec_dir = _pick(d, "_rec")
    return PaddleOCR(
        text_detection_model_name=det_name, text_detection_model_dir=str(det_dir),
        text_recognition_model_name=rec_name, text_recognition_model_dir=str(rec_dir),
        use_doc_orientation_classify=False, use_doc_unwarping=False,
        use_textline_orientation=False,
    )


def result_lines(res: Any) -> list[Line]:
    """Lines from one PaddleOCR 3.x result (a mapping with rec_texts/rec_scores/rec_boxes)."""
    texts = list(res["rec_texts"])
    scores = list(res["rec_scores"])
    boxes = np.asarray(res["rec_boxes"]).reshape(-1, 4)  # [N, 4] x0, y0, x1, y1
    lines = []
    for text, score, (x0, y0, x1, y1) in zip(texts, scores, boxes, strict=False):
        tokens = str(text).split()
        if not tokens:
            continue
        box = BBox(x0=float(x0), y0=float(y0), x1=float(max(x1, x0)), y1=float(max(y1, y0)))
        conf = min(max(float(score), 0.0), 1.0)
        total = sum(len(t) for t in tokens) + len(tokens) - 1
        per = box.width / max(total, 1)
        words, pos = [], 0
        for t in tokens:
            wx0 = box.x0 + pos * per
            words.append(Word(text=t, bbox=BBox(x0=wx0, y0=box.y0, x1=wx0 + len(t) * per,
                                                y1=box.y1), confidence=conf))
            pos += len(t) + 1
        lines.append(Line(words=words, bbox=box, confidence=conf))
    lines.sort(key=lambda ln: (ln.bbox.y0, ln.bbox.x0))
    return lines


class PaddleOcrBackend(OcrBackend):
    name = "paddleocr"

    @classmethod
    def available(cls) -> bool:
        return importlib.util.find_spec("paddleocr") is not None and _model_dir() is not None

    def recognize(self, image: Image.Image) -> list[Line]:
        bgr = np.asarray(image.convert("RGB"))[:, :, ::-1].copy()  # [H, W, 3] BGR
        results = list(_engine().predict(bgr))
        return result_lines(results[0]) if results else []
