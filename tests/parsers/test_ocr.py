"""OCR backends on rendered text: word spacing recovery (measured), tesseract, scanned PDFs,
image loading limits. Real rapidocr and real tesseract, no mocks."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
from PIL import Image, ImageDraw

from prunestack.errors import InputError, TooLargeError
from prunestack.parsers.errors import OcrUnavailableError
from prunestack.parsers.image import load_image
from prunestack.parsers.ocr import available_backends, get_backend
from prunestack.parsers.ocr.lexicon import merge_split_words
from prunestack.parsers.ocr.quality import word_accuracy, word_precision
from prunestack.parsers.ocr.rapid import RapidOcrBackend
from prunestack.parsers.ocr.spacing import (
    MIN_GAP_SHARE,
    blank_runs,
    gap_threshold,
    insert_spaces,
    word_gaps,
)
from prunestack.parsers.ocr.tesseract import TesseractBackend, parse_tsv
from prunestack.parsers.primitives import Word
from prunestack.pipeline.document import BBox, Source
from tests.parsers import docgen
from tests.parsers.conftest import needs_tesseract

# ---------------------------------------------------------------- spacing: pure functions


def _strip(pattern: str, h: int = 20) -> np.ndarray:
    """A synthetic line crop: '#' columns are ink (a full-height bar), '.' columns are blank."""
    row = np.array([0 if c == "#" else 255 for c in pattern], dtype=np.uint8)
    return np.repeat(row[None, :], h, axis=0)  # [h, W]


def test_blank_runs_inside_ink_only():
    cols = np.array([c == "#" for c in "..##.#...##.."])
    assert blank_runs(cols) == [(4, 5), (6, 9)]


def test_word_gaps_bimodal_line():
    # letters 3 px apart by 1-px gaps, words separated by 6-px gaps
    crop = _strip("###.###.###......###.###......###.###.###")
    gaps = word_gaps(crop)
    assert [(e - s) for s, e in gaps] == [6, 6]


def test_word_gap_needs_a_paper_column():
    """Blur leaves faint ink (grey 180 of 0..255) in the blank run inside an "O": lighter than
    the ink level, so a blank run, but no paper-white column: a letter gap, not a word gap."""
    crop = _strip("###.###.###......###.###......###.###.###")
    faint = crop.copy()
    faint[2:4, 11:17] = 180  # the first wide run holds faint ink at the top (an arc)
    assert [(e - s) for s, e in word_gaps(crop)] == [6, 6]
    assert [(e - s) for s, e in word_gaps(faint)] == [6]


def test_narrow_gap_among_wide_ones_is_a_letter_gap():
    # text 12 px high: word gaps 7 px, one 3 px gap between two straight strokes ("ll") passes
    # the height floor (0.25 x 12) but is under 0.6 x the line's word gaps
    crop = _strip("###.###...###.###.......###.###.......###.###", h=12)
    assert [(e - s) for s, e in word_gaps(crop)] == [7, 7]


def test_single_word_has_no_gaps():
    assert word_gaps(_strip("###.###.###.###.###")) == []


def test_threshold_never_below_floor():
    # two clusters (1 px vs 3 px) but both tiny relative to a 40 px high text: no word gaps
    assert gap_threshold([1, 1, 3, 3, 1, 3], text_height=40) > 3


def test_known_spaces_calibrate_threshold():
    # known spaces 9 px wide: 0.6 × 9 = 5.4 px, unless the floor (a share of the height) is higher
    assert gap_threshold([2, 2, 9, 2, 8], 30, known=[9]) == pytest.approx(
        max(MIN_GAP_SHARE * 30, 5.4))


def test_insert_spaces_between_centres():
    chars = list("Freshmilk")
    centers = [5, 15, 25, 35, 45, 70, 80, 90, 100]
    assert insert_spaces(chars, centers, [(52, 62)]) == "Fresh milk"
    assert insert_spaces(list("a b"), [0, 5, 10], [(2, 8)]) == "a b"  # no double space


def test_word_accuracy_metric():
    assert word_accuracy(["fresh milk two"], ["freshmilk two"]) == pytest.approx(1 / 3)
    assert word_precision(["fresh milk"], ["fre sh milk"]) == pytest.approx(1 / 3)


# ---------------------------------------------------------------- rapidocr, real models


def test_spacing_recovery_on_small_latin_text(english_image, english_lines, rapid_rows):
    raw = RapidOcrBackend(recover_spacing=False).lines_from_raw(rapid_rows, english_image)
    fixed = RapidOcrBackend().lines_from_raw(rapid_rows, english_image)
    acc_raw = word_accuracy(english_lines, [ln.text for ln in raw])
    acc_fixed = word_accuracy(english_lines, [ln.text for ln in fixed])
    # Measured: the recogniser alone glues most 9 pt words; recovery brings them back.
    assert acc_raw < 0.6
    assert acc_fixed >= 0.95
    assert word_precision(english_lines, [ln.text for ln in fixed]) >= 0.95
    # Words carry their own boxes inside the line box, left to right.
    for ln in fixed:
        xs = [w.bbox.x0 for w in ln.words]
        assert xs == sorted(xs)
        assert all(ln.bbox.x0 - 1 <= w.bbox.x0 <= w.bbox.x1 <= ln.bbox.x1 + 1 for w in ln.words)


def test_rapidocr_line_order_matches_page(english_image, english_lines, rapid_rows):
    lines = RapidOcrBackend().lines_from_raw(rapid_rows, english_image)
    texts = [ln.text for ln in lines]
    found = [texts.index(t) for t in english_lines if t in texts]
    assert len(found) >= len(english_lines) - 1
    assert found == sorted(found)


@needs_tesseract
def test_tesseract_words(english_image, english_lines):
    lines = TesseractBackend().recognize(english_image)
    assert word_accuracy(english_lines, [ln.text for ln in lines]) >= 0.95
    assert all(0 <= w.confidence <= 1 for ln in lines for w in ln.words)


def test_parse_tsv_groups_lines():
    tsv = (
        "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
        "4\t1\t1\t1\t1\t0\t10\t10\t200\t20\t-1\t\n"
        "5\t1\t1\t1\t1\t1\t10\t10\t50\t20\t96.5\tHello\n"
        "5\t1\t1\t1\t1\t2\t70\t11\t60\t19\t91.0\tworld\n"
        "5\t1\t1\t1\t2\t1\t10\t40\t40\t20\t88.0\tBye\n"
        "5\t1\t1\t1\t2\t2\t60\t40\t40\t20\t-1\t \n"
        "5\t1\t2\t1\t1\t1\t300\t90\t4\t4\t65.0\t.\n"  # a noise speck on its own line
    )
    lines = parse_tsv(tsv)
    assert [ln.text for ln in lines] == ["Hello world", "Bye"]
    assert lines[0].words[1].bbox.x1 == 130 and lines[0].words[0].confidence == pytest.approx(0.965)


def test_backend_selection():
    found = available_backends()
    assert "rapidocr" in found
    assert get_backend("auto").name == found[0]
    with pytest.raises(OcrUnavailableError, match="unknown"):
        get_backend("nope")
    if "paddleocr" not in found:
        with pytest.raises(OcrUnavailableError, match="not available"):
            get_backend("paddleocr")


# ---------------------------------------------------------------- scanned PDF: OCR path


def _scanned_pdf(image: Image.Image, page_w: float, page_h: float) -> bytes:
    """A PDF whose only content is ``image`` stretched over the page (no text layer)."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(page_w, page_h), invariant=1)
    c.drawImage(ImageReader(image), 0, 0, width=page_w, height=page_h)
    c.showPage()
    c.save()
    return buf.getvalue()


def test_pdf_without_text_layer_is_ocrd_in_points():
    from prunestack.parsers.pdf import pdf_page_lines

    lines = ["Invoice No: INV-2024-0042", "Total amount due 416.04"]
    born = docgen.text_pdf(lines, size=16)
    (digital,) = pdf_page_lines(born)
    page_w, page_h = digital.width, digital.height
    scan = _scanned_pdf(docgen.render_page(born, 0, 150), page_w, page_h)
    (ocrd,) = pdf_page_lines(scan, ocr="rapidocr", dpi=200)
    assert ocrd.source is Source.OCR and ocrd.ocr_backend == "rapidocr"
    assert [ln.text for ln in ocrd.lines] == lines
    # Boxes come back in points and land where the text layer put the same words (±3 pt).
    for dl, ol in zip(digital.lines, ocrd.lines, strict=True):
        assert ol.bbox.x0 == pytest.approx(dl.bbox.x0, abs=3)
        assert ol.bbox.cy == pytest.approx(dl.bbox.cy, abs=3)
        assert ol.words[-1].bbox.x1 == pytest.approx(dl.words[-1].bbox.x1, abs=4)


# ---------------------------------------------------------------- image loading


def _png(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=kw.pop("format", "PNG"), **kw)
    return buf.getvalue()


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (60, 20), "white")
    ImageDraw.Draw(img).rectangle([0, 0, 9, 19], fill="black")  # black band on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: viewers turn it 90° clockwise
    loaded = load_image(_png(img, format="JPEG", exif=exif.tobytes(), quality=95))
    assert loaded.size == (20, 60)
    arr = np.asarray(loaded.convert("L"))  # [60, 20]
    assert arr[:10].mean() < 80 and arr[-10:].mean() > 200  # band is now on top


def test_pixel_limit_checked_before_decoding():
    big = Image.new("1", (6000, 6000), 1)
    with pytest.raises(TooLargeError, match="over the limit"):
        load_image(_png(big), max_pixels=10_000_000)


def test_corrupt_images():
    good = _png(Image.new("RGB", (50, 50), "white"))
    with pytest.raises(InputError):
        load_image(good[: len(good) // 2])
    with pytest.raises(InputError):
        load_image(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)


def test_digit_and_punctuation_pairs_need_a_wider_gap():
    chars = list("416")
    centers = [5.0, 15.0, 30.0]
    assert insert_spaces(chars, centers, [(18, 28)]) == "41 6"
    # 10 px blank, text 30 px high: a digit pair needs 0.42 * 30 = 12.6 px
    assert insert_spaces(chars, centers, [(18, 28)], text_height=30) == "416"
    assert insert_spaces(list("a6"), [5.0, 30.0], [(18, 28)], text_height=30) == "a 6"
    assert insert_spaces(list("-1"), [5.0, 30.0], [(18, 28)], text_height=30) == "-1"
    # Punctuation is judged against the line's letter-to-letter word gaps (here 20 px wide).
    chars, centers = list("ab9.00cd"), [0, 10, 40, 50, 60, 70, 100, 110]
    gaps = [(15, 35), (52, 58), (75, 95)]
    assert insert_spaces(chars, centers, gaps, text_height=30) == "ab 9.00 cd"


def test_paddle_result_fields_to_lines():
    """The PaddleOCR 3.x result layout (rec_texts / rec_scores / rec_boxes) → lines and words.
    (The package itself is optional; this checks our reading of its documented fields.)"""
    from prunestack.parsers.ocr.paddle import result_lines

    res = {"rec_texts": ["Total due", "Invoice No: 42", "  "], "rec_scores": [0.8, 0.95, 0.3],
           "rec_boxes": np.array([[10, 60, 110, 80], [10, 10, 150, 30], [0, 0, 5, 5]])}
    lines = result_lines(res)
    assert [ln.text for ln in lines] == ["Invoice No: 42", "Total due"]  # top to bottom
    words = lines[0].words
    assert [w.text for w in words] == ["Invoice", "No:", "42"]
    assert words[0].bbox.x0 == 10 and words[-1].bbox.x1 == pytest.approx(150)
    assert all(a.bbox.x1 < b.bbox.x0 for a, b in itertools.pairwise(words))
    assert lines[1].confidence == pytest.approx(0.8)


def test_spacing_recovery_on_receipt_lines():
    """The issue's case: capitals, punctuation and numbers on a slightly degraded 8 pt receipt
    ("BOOKTA.K(TAMANDAYA)SDNBHD" from the recogniser alone)."""
    lines = docgen.RECEIPT_LINES
    image = docgen.degrade(docgen.render_page(docgen.text_pdf(lines, size=8), 0, 200), seed=8)
    rows = RapidOcrBackend().raw(image)
    raw = [ln.text for ln in RapidOcrBackend(recover_spacing=False).lines_from_raw(rows, image)]
    fixed = [ln.text for ln in RapidOcrBackend().lines_from_raw(rows, image)]
    assert word_accuracy(lines, raw) < 0.5
    assert word_accuracy(lines, fixed) >= 0.85
    assert word_precision(lines, fixed) >= 0.85
    assert "THANK YOU FOR SHOPPING" in fixed


# ---------------------------------------------------------------- split-word repair (lexicon)


def _words(text: str) -> list[Word]:
    out, x = [], 0.0
    for t in text.split():
        out.append(Word(text=t, bbox=BBox(x0=x, y0=0, x1=x + 8 * len(t), y1=12), confidence=0.9))
        x += 8 * len(t) + 4
    return out


@pytest.mark.parametrize(("text", "want"), [
    ("48 Mil l Road", "48 Mill Road"),  # a single letter is no word
    ("Instal lation", "Installation"),  # neither fragment is a word
    ("34 E lm Avenue", "34 Elm Avenue"),
    ("Software l icence.", "Software licence."),  # a trailing mark stays on the word
    ("Key board", "Key board"),  # two words stay two words
    ("Market Square", "Market Square"),  # a capital starts a new word
    ("IN- 2023 A4", "IN- 2023 A4"),  # not letters
])
def test_split_words_joined_with_the_minilm_lexicon(text, want):
    words = merge_split_words(_words(text))
    assert " ".join(w.text for w in words) == want


def test_joined_word_box_and_confidence():
    words = _words("Mil l")
    words[1] = words[1].model_copy(update={"confidence": 0.5})
    (joined,) = merge_split_words(words, frozenset({"mill"}))
    assert joined.text == "Mill" and joined.confidence == 0.5
    assert (joined.bbox.x0, joined.bbox.x1) == (words[0].bbox.x0, words[1].bbox.x1)
    assert merge_split_words(_words("Mil l"), frozenset()) == _words("Mil l")  # no lexicon
