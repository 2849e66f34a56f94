"""Tesseract backend: the ``tesseract`` binary via subprocess, TSV output, word-level boxes.

The image goes to Tesseract as a PNG in a temporary file (not its stdin: a pipe fed by
``communicate`` with a timeout stops being written after the first timeout, and a large page then
waits forever on its own input); its TSV (level 5 rows = words, with block, paragraph
and line numbers) is grouped into lines by Tesseract's own line ids and each line split again
where the words stop overlapping vertically. A line that is only one or two punctuation marks
(scan noise read as ``.`` or ``-``) is dropped; an amount, date or time split at a letter gap
(``RM 64. 15``) is joined again (``parsers.ocr.numbers``). Confidences (0-100) are scaled to
[0, 1]. It runs single-threaded (``OMP_THREAD_LIMIT=1``) and is killed after ``timeout_s``, or
within a quarter of a second once its API request is cancelled (``prunestack.cancel``).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import tempfile
import time

from PIL import Image

from prunestack.cancel import checkpoint
from prunestack.errors import DeadlineError, InputError
from prunestack.parsers.errors import OcrUnavailableError
from prunestack.parsers.lines import group_lines
from prunestack.parsers.ocr.base import OcrBackend, is_speck
from prunestack.parsers.ocr.numbers import merge_split_numbers
from prunestack.parsers.primitives import Line, Word
from prunestack.pipeline.document import BBox


class TesseractBackend(OcrBackend):
    name = "tesseract"

    def __init__(self, *, lang: str = "eng", psm: int = 3, timeout_s: float = 300.0) -> None:
        self.lang = lang
        self.psm = psm
        self.timeout_s = timeout_s

    @classmethod
    def binary(cls) -> str | None:
        return shutil.which("tesseract")

    @classmethod
    def available(cls) -> bool:
        return cls.binary() is not None

    def tsv(self, image: Image.Image) -> str:
        exe = self.binary()
        if exe is None:
            raise OcrUnavailableError("the tesseract binary is not on PATH",
                                      "apt-get install tesseract-ocr tesseract-ocr-eng")
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        fd, name = tempfile.mkstemp(suffix=".png", prefix="prunestack-ocr-")
        try:
            with os.fdopen(fd, "wb") as fh:
                image.convert("RGB").save(fh, format="PNG")
            return _run([exe, name, "stdout", "-l", self.lang, "--psm", str(self.psm), "tsv"],
                        env, self.timeout_s)
        finally:
            os.unlink(name)

    def recognize(self, image: Image.Image) -> list[Line]:
        return parse_tsv(self.tsv(image))


def _run(cmd: list[str], env: dict[str, str], timeout_s: float) -> str:
    """Run ``cmd`` (no stdin) and return its stdout; killed after ``timeout_s`` or when the
    surrounding work is cancelled (checked every 0.25 s)."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    end = time.monotonic() + timeout_s
    try:
        while True:
            try:
                out, err = proc.communicate(timeout=0.25)
                break
            except subprocess.TimeoutExpired:
                checkpoint("OCR")  # a cancelled request kills tesseract (finally below)
                if time.monotonic() > end:
                    raise DeadlineError(f"tesseract took longer than {timeout_s:.0f} s"
                                        ) from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    if proc.returncode != 0:
        msg = err.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"tesseract failed: {msg[-1] if msg else proc.returncode}")
    return out.decode("utf-8", "replace")


def parse_tsv(tsv: str) -> list[Line]:
    """Lines from Tesseract TSV output (word rows only; empty and conf -1 rows skipped)."""
    groups: dict[tuple[int, int, int, int], list[Word]] = {}
    reader = csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in reader:
        try:
            if int(row["level"]) != 5:
                continue
            text = (row.get("text") or "").strip()
            conf = float(row["conf"])
            if not text or conf < 0:
                continue
            x, y, w, h = (int(row[k]) for k in ("left", "top", "width", "height"))
            key = (int(row["page_num"]), int(row["block_num"]), int(row["par_num"]),
                   int(row["line_num"]))
        except (KeyError, TypeError, ValueError):
            continue
        groups.setdefault(key, []).append(
            Word(text=text, bbox=BBox(x0=x, y0=y, x1=x + w, y1=y + h),
                 confidence=min(max(conf / 100.0, 0.0), 1.0))
        )
    lines: list[Line] = []
    for words in groups.values():
        lines.extend(ln.model_copy(update={"words": merge_split_numbers(ln.words)})
                     for ln in group_lines(words) if not is_speck(ln))
    lines.sort(key=lambda ln: (ln.bbox.y0, ln.bbox.x0))
    return lines
