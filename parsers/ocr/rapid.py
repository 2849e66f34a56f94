"""RapidOCR backend (PP-OCRv4 detection + recognition ONNX models shipped in the wheel).

Each detected text box becomes one ``Line``. The bundled recogniser often drops the spaces
between Latin words; with ``recover_spacing`` (default on) we ask rapidocr for per-character
positions (``return_word_box=True``) and re-insert spaces where the line's pixels show a word gap
(``parsers.ocr.spacing``); fragments of one word split by a letter gap taken for a space are
joined again when the lexicon knows the word (``parsers.ocr.lexicon``), and amounts, dates and
times split at a letter gap of letter-spaced till print are joined again (``parsers.ocr.numbers``:
``64. 15`` → ``64.15``). Word text is NFKC-normalised (the recogniser's Chinese-trained alphabet
emits full-width ``（`` ``）`` ``：`` for Latin punctuation). Words get boxes from
their characters' boxes. The text-direction
classifier is off by default: on upright pages it sometimes flips a correct line by 180°.
With ``deskew`` (default on) a page rotated by ≥ 0.5° (``parsers.ocr.deskew``) has its boxes
put on the levelled page, so the cells of one table row share a row in the layout stage: the
corners of each line's quadrilateral and of its characters' are turned level and their tight
boxes taken (a word's box spans its characters along the levelled line, at the line's height).
Text, spacing recovery included, is read from the image's own pixels and is the same either way.
``recognize_page`` also returns the levelled frame (the page's ``PageFrame``).
A cancelled API request (``prunestack.cancel``) stops before each batch of lines the recogniser
reads, before each line's spacing recovery, and in the middle of a text detection or recognition
run (the sessions are wrapped: ONNX Runtime's terminate flag; their results are unchanged).
"""

from __future__ import annotations

import importlib.util
import threading
import unicodedata
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image

from prunestack.cancel import checkpoint, on_cancel
from prunestack.parsers.ocr.base import OcrBackend, is_speck
from prunestack.parsers.ocr.deskew import estimate_skew_bands, level_frame
from prunestack.parsers.ocr.lexicon import merge_split_words
from prunestack.parsers.ocr.numbers import merge_split_numbers
from prunestack.parsers.ocr.spacing import ink_profile, insert_spaces, word_gaps
from prunestack.parsers.primitives import Line, Word
from prunestack.pipeline.document import BBox, PageFrame

_LOCK = threading.Lock()  # one onnxruntime session set per process; calls are serialised


#: ONNX Runtime threads per OCR session (the product's budget is two threads per process) and
#: whether idle pool threads spin-wait for work. rapidocr's defaults (every core, spinning) spent
#: about 1.5× the CPU time for the same output on the dev receipts: the spinning threads burn a
#: core while the other waits (``benchmarks/bench_ocr_ceiling.py``, "cpu before/after").
THREADS = 2
SPINNING = False
#: text lines per recogniser run. rapidocr batches 6 lines (sorted by aspect ratio) and pads
#: each to the widest of its batch; the padding is recogniser work, and it changes what the
#: recogniser reads (the CTC decoder sees the blank tail). One line per run reads each line at
#: its own width: on the first 10 SROIE dev receipts, OCR 4.38 → 3.46 CPU-s per receipt and the
#: OCR ceiling 0.650 → 0.675 (``benchmarks/bench_receipts_real.py``, "CPU split").
REC_BATCH = 1


def make_engine(threads: int | None = THREADS, spinning: bool = SPINNING,
                rec_batch: int | None = REC_BATCH) -> Any:
    """A RapidOCR engine whose detection, classification and recognition sessions use
    ``threads`` intra-op threads (None: ONNX Runtime's default, every core) with spin-waiting
    on or off (the models and every result are the same), recognising ``rec_batch`` lines per
    run (None: rapidocr's 6, padded to the widest of each batch)."""
    import onnxruntime as ort
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR()
    if rec_batch is not None:
        engine.text_rec.rec_batch_num = rec_batch
    if threads is not None or not spinning:
        for holder, attr in ((engine.text_det, "infer"), (engine.text_cls, "infer"),
                             (engine.text_rec, "session")):
            wrapped = getattr(holder, attr)  # rapidocr's OrtInferSession
            opts = ort.SessionOptions()
            opts.log_severity_level = 4
            opts.enable_cpu_mem_arena = False
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            if threads is not None:
                opts.intra_op_num_threads = threads
                opts.inter_op_num_threads = 1
            opts.add_session_config_entry("session.intra_op.allow_spinning",
                                          "1" if spinning else "0")
            wrapped.session = ort.InferenceSession(wrapped.session._model_path,
                                                   sess_options=opts,
                                                   providers=["CPUExecutionProvider"])
    engine.text_det.infer = _Stoppable(engine.text_det.infer, "OCR text detection")
    engine.text_rec.session = _Stoppable(engine.text_rec.session, "OCR line recognition")
    return engine


@lru_cache(maxsize=1)
def _engine() -> Any:
    return make_engine()


class _Stoppable:
    """A RapidOCR session (its ``OrtInferSession``) that checks for cancellation before every
    run and stops a run in flight when the work is cancelled (ONNX Runtime's
    ``RunOptions.terminate``: text detection on a big page is one run of a second or more);
    otherwise it is the session it wraps, with the same results."""

    def __init__(self, session: Any, where: str) -> None:
        self._session = session
        self._where = where

    def __call__(self, input_content: np.ndarray) -> Any:
        import onnxruntime as ort

        checkpoint(self._where)
        s = self._session
        opts = ort.RunOptions()
        feed = dict(zip(s.get_input_names(), [input_content], strict=False))
        try:
            with on_cancel(lambda: setattr(opts, "terminate", True)):
                return s.session.run(s.get_output_names(), feed, opts)
        except Exception:
            checkpoint(self._where)  # stopped by us: a DeadlineError, not an OCR failure
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def _quad_box(points: list[list[float]]) -> BBox:
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return BBox(x0=min(xs), y0=min(ys), x1=max(xs), y1=max(ys))


def _geometry(quad: list[list[float]], char_quads: list[list[list[float]]], n_chars: int,
              frame: PageFrame | None) -> tuple[BBox, list[BBox]]:
    """A line's box and one box per character, from the detector's quadrilateral and the
    characters' (spread evenly over the line when their count is not ``n_chars``): upright
    boxes on the image without ``frame``; with it, the tight boxes of their corners turned level
    (``PageFrame.level_points``), every character by the line's tilt, so they lie along the
    levelled line instead of keeping a tilted line's inflated height (width × sin(angle))."""
    if frame is None:
        box, cboxes = _quad_box(quad), [_quad_box(q) for q in char_quads]
    else:
        box = frame.level_points(quad)
        cboxes = [frame.level_points(q, box.cy) for q in char_quads]
    if len(cboxes) != n_chars:
        step = box.width / max(n_chars, 1)
        cboxes = [BBox(x0=box.x0 + i * step, y0=box.y0, x1=box.x0 + (i + 1) * step, y1=box.y1)
                  for i in range(n_chars)]
    return box, cboxes


class RapidOcrBackend(OcrBackend):
    name = "rapidocr"

    def __init__(self, *, recover_spacing: bool = True, use_cls: bool = False,
                 text_score: float = 0.5, deskew: bool = True, join_numbers: bool = True,
                 engine: Any = None) -> None:
        self.engine = engine  # None: the process's shared engine (``make_engine()``)
        self.join_numbers = join_numbers
        self.recover_spacing = recover_spacing
        self.deskew = deskew
        self.use_cls = use_cls
        self.text_score = text_score

    @classmethod
    def available(cls) -> bool:
        return importlib.util.find_spec("rapidocr_onnxruntime") is not None

    def raw(self, image: Image.Image) -> list[list[Any]]:
        """rapidocr's own result rows: [quad, text, score, char_quads, chars, char_scores]."""
        rgb = np.asarray(image.convert("RGB"))  # [H, W, 3]
        with _LOCK:
            res, _ = (self.engine or _engine())(rgb, use_cls=self.use_cls, return_word_box=True,
                               text_score=self.text_score)
        return res or []

    def recognize(self, image: Image.Image) -> list[Line]:
        return self.lines_from_raw(self.raw(image), image)

    def recognize_page(self, image: Image.Image) -> tuple[list[Line], PageFrame | None]:
        return self.page_from_raw(self.raw(image), image)

    def lines_from_raw(self, rows: list[list[Any]], image: Image.Image) -> list[Line]:
        """Lines from rapidocr result rows of ``image`` (spacing recovered if enabled)."""
        return self.page_from_raw(rows, image)[0]

    def page_from_raw(self, rows: list[list[Any]], image: Image.Image
                      ) -> tuple[list[Line], PageFrame | None]:
        """``lines_from_raw`` and the frame they were levelled into (None: not levelled)."""
        gray = np.asarray(image.convert("L"))  # [H, W]
        frame = None
        if self.deskew and rows:  # level the rows of a rotated scan (parsers.ocr.deskew)
            h, w = float(gray.shape[0]), float(gray.shape[1])
            frame = level_frame(estimate_skew_bands(gray), w, h)
        lines = []
        for row in rows:
            checkpoint("OCR spacing recovery")
            line = self._line(row, gray, frame)
            if line is not None and not is_speck(line):
                lines.append(line)
        lines.sort(key=lambda ln: (ln.bbox.y0, ln.bbox.x0))
        return lines, frame if lines else None

    def _line(self, row: list[Any], gray: np.ndarray, frame: PageFrame | None) -> Line | None:
        """One result row as a line: text read in the image's pixels, boxes on the levelled
        page of ``frame`` when there is one."""
        quad, text, score = row[0], str(row[1]), float(row[2])
        char_quads = row[3] if len(row) > 3 else []
        char_scores = list(row[5]) if len(row) > 5 else []
        text = " ".join(text.split())
        if not text:
            return None
        chars = list(str(row[1]))
        box, cboxes = _geometry(quad, char_quads, len(chars), None)
        if len(char_scores) != len(chars):
            char_scores = [score] * len(chars)
        if self.recover_spacing:
            x0, y0 = max(int(box.x0), 0), max(int(box.y0), 0)
            crop = quad_crop(gray, quad, x0, y0, int(np.ceil(box.x1)), int(np.ceil(box.y1)))
            centers = [b.cx for b in cboxes]
            spaces = [(centers[i - 1] - x0, centers[i + 1] - x0)
                      for i in range(1, len(chars) - 1) if chars[i] == " "]
            gaps = [(s + x0, e + x0) for s, e in word_gaps(crop, spaces)]
            spaced = insert_spaces(chars, centers, gaps, ink_profile(crop)[1])
        else:
            spaced = str(row[1]).strip()
        if frame is not None:  # the same characters, their boxes along the levelled line
            box, cboxes = _geometry(quad, char_quads, len(chars), frame)
        words = _split_words(spaced, chars, cboxes, char_scores, box)
        if self.recover_spacing:  # a letter gap taken for a space: "Mil l" → "Mill"
            words = merge_split_words(words)
            if self.join_numbers:  # "64. 15" → "64.15" (parsers.ocr.numbers)
                words = merge_split_numbers(words)
        if not words:
            return None
        return Line(words=words, bbox=box, confidence=min(max(score, 0.0), 1.0))


def quad_crop(gray: np.ndarray, quad: list[list[float]], x0: int, y0: int, x1: int, y1: int
              ) -> np.ndarray:
    """The line's crop [h, w] of ``gray`` with everything outside the detector's quadrilateral
    painted paper-white. A tilted line's upright box takes in the ends of the lines above and
    below it, whose ink fills the word gaps spacing recovery looks for ("JALANSS2/61" on a
    receipt photographed 1.5° off). Quads are (top-left, top-right, bottom-right, bottom-left)."""
    crop = gray[y0:y1, x0:x1].copy()  # [h, w]
    if crop.size == 0 or len(quad) != 4:
        return crop
    (tlx, tly), (trx, try_), (brx, bry), (blx, bly) = quad
    xs = np.arange(x0, x0 + crop.shape[1], dtype=np.float64)  # [w]
    top = np.interp(xs, [tlx, trx], [tly, try_]) if trx > tlx else np.full_like(xs, y0)
    bottom = np.interp(xs, [blx, brx], [bly, bry]) if brx > blx else np.full_like(xs, y1)
    ys = np.arange(y0, y0 + crop.shape[0], dtype=np.float64)[:, None]  # [h, 1]
    outside = (ys < top[None, :] - 1) | (ys > bottom[None, :] + 1)  # [h, w]
    crop[outside] = crop.max()
    return crop


def _split_words(spaced: str, chars: list[str], cboxes: list[BBox], scores: list[float],
                 line_box: BBox) -> list[Word]:
    """Words of ``spaced`` with boxes from the characters they are made of."""
    words: list[Word] = []
    ci = 0  # index into chars (the unspaced sequence, possibly with the model's own spaces)
    for token in spaced.split():
        idx: list[int] = []
        for ch in token:
            while ci < len(chars) and chars[ci] != ch:
                ci += 1
            if ci < len(chars):
                idx.append(ci)
                ci += 1
        if idx:
            b = BBox(x0=max(min(cboxes[i].x0 for i in idx), line_box.x0), y0=line_box.y0,
                     x1=min(max(cboxes[i].x1 for i in idx), line_box.x1), y1=line_box.y1)
            if b.x1 <= b.x0:
                b = BBox(x0=cboxes[idx[0]].x0, y0=line_box.y0, x1=cboxes[idx[-1]].x1 + 1,
                         y1=line_box.y1)
            conf = float(np.mean([scores[i] for i in idx]))
        else:
            b, conf = line_box, 0.0
        words.append(Word(text=unicodedata.normalize("NFKC", token), bbox=b,
                          confidence=min(max(conf, 0.0), 1.0)))
    return words
