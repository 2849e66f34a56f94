"""Real-world input files through ``parsers.ingest.parse``, the CLI and the API.

Inputs are modelled on what users upload: transparent PNG exports, 16-bit scanner output, fax
TIFFs with several pages, phone photos (EXIF-rotated, 20+ MP), born-digital PDFs with crop boxes,
soft hyphens, and uploads that are not what their name says. OCR runs on small images only.
"""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from prunestack.parsers import image as image_mod
from prunestack.parsers.image import load_pages
from prunestack.parsers.ingest import parse
from tests import CLI

ROOT = Path(__file__).resolve().parents[2]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _text_image(lines: tuple[str, ...], size=(640, 160), mode="RGB", ink=0, paper=255):
    img = Image.new(mode, size, paper)
    font = ImageFont.truetype(FONT, 32)
    draw = ImageDraw.Draw(img)
    for i, s in enumerate(lines):
        draw.text((30, 30 + 60 * i), s, fill=ink, font=font)
    return img


def _bytes(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _texts(doc) -> list[str]:
    return [" ".join(e.text for e in p.elements) for p in doc.pages]


def test_transparent_png_is_read_on_white():
    # a logo/screenshot export: black text on a fully transparent background. Dropping the alpha
    # channel gave black text on black: no text at all
    img = Image.new("RGBA", (640, 100), (0, 0, 0, 0))
    ImageDraw.Draw(img).text((30, 30), "TOTAL 42", fill=(0, 0, 0, 255),
                             font=ImageFont.truetype(FONT, 32))
    page, f = load_pages(_bytes(img, "PNG"))[0]
    assert f == 1.0 and page.getpixel((2, 2)) == (255, 255, 255)
    assert "TOTAL" in _texts(parse(_bytes(img, "PNG"), ocr="rapidocr"))[0]


def test_16_bit_grey_scan_keeps_grey_ink():
    # scanners write 16-bit greyscale; PIL's convert clips everything over 255 to white, so grey
    # ink (here 20000/65535, a dark grey) vanished
    arr = np.full((60, 80), 60000, np.uint16)
    arr[20:40, 20:60] = 20000
    page, _ = load_pages(_bytes(Image.fromarray(arr), "PNG"))[0]
    grey = np.asarray(page.convert("L"))
    assert grey[30, 40] == pytest.approx(20000 / 257, abs=1)
    assert grey[5, 5] == pytest.approx(60000 / 257, abs=1)


def test_multi_page_tiff_gives_every_page():
    # a fax / scanner batch: one TIFF, several pages; only page 1 was read
    first, second = _text_image(("FIRST PAGE",)), _text_image(("SECOND PAGE",))
    fax = io.BytesIO()
    first.convert("1").save(fax, "TIFF", save_all=True, append_images=[second.convert("1")] * 2,
                            compression="group4")
    assert [p.size for p, _ in load_pages(fax.getvalue())] == [(640, 160)] * 3
    buf = io.BytesIO()
    first.convert("L").save(buf, "TIFF", save_all=True, append_images=[second.convert("L")],
                            compression="tiff_lzw")
    data = buf.getvalue()
    doc = parse(data, ocr="rapidocr")
    texts = _texts(doc)
    assert [p.number for p in doc.pages] == [1, 2]
    assert "FIRST" in texts[0] and "SECOND" in texts[1]
    only2 = parse(data, ocr="rapidocr", pages="2")
    assert [p.number for p in only2.pages] == [2] and "SECOND" in _texts(only2)[0]


def test_huge_phone_photo_is_shrunk_not_refused():
    # a 63 MP JPEG (108 MP phones exist) was refused by the 50 MP limit; now it is decoded at a
    # reduced scale (JPEG draft) to at most WORK_PIXELS
    img = Image.new("L", (9000, 7000), 255)
    page, f = load_pages(_bytes(img, "JPEG", quality=50))[0]
    assert page.width * page.height <= image_mod.WORK_PIXELS
    assert f > 1 and round(page.width * f) == 9000 and abs(page.height * f - 7000) < 2 * f


def test_shrunk_page_boxes_are_in_original_pixels(monkeypatch):
    img = _text_image(("RECEIPT TOTAL",), size=(1280, 320))
    big = parse(_bytes(img, "PNG"), ocr="rapidocr")
    monkeypatch.setattr(image_mod, "WORK_PIXELS", 1280 * 320 // 4)  # OCR at half size
    small = parse(_bytes(img, "PNG"), ocr="rapidocr")
    assert (small.pages[0].width, small.pages[0].height) == (1280, 320)
    assert "RECEIPT" in _texts(small)[0]

    def union(doc):
        boxes = [e.bbox for e in doc.pages[0].elements]
        return (min(b.x0 for b in boxes), min(b.y0 for b in boxes), max(b.x1 for b in boxes),
                max(b.y1 for b in boxes))

    assert np.allclose(union(big), union(small), atol=8)


def test_exif_rotated_phone_photo_of_a_receipt():
    upright = _text_image(("RECEIPT", "TOTAL 42"), size=(400, 200))
    stored = upright.rotate(90, expand=True)  # the sensor's orientation
    exif = Image.Exif()
    exif[0x0112] = 6  # viewers turn it 90° clockwise
    doc = parse(_bytes(stored, "JPEG", exif=exif.tobytes(), quality=95), ocr="rapidocr")
    assert (doc.pages[0].width, doc.pages[0].height) == (400, 200)
    assert "RECEIPT" in _texts(doc)[0] and "TOTAL" in _texts(doc)[0]


# ------------------------------------------------------------------------------------------ PDFs

def _pdf(draw, pagesize=(595.28, 841.89), rotation=0, **canvas_kw) -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=pagesize, **canvas_kw)
    c.setPageRotation(rotation)
    draw(c)
    c.showPage()
    c.save()
    return buf.getvalue()


def _elements(data: bytes):
    doc = parse(data)
    return doc, [e for p in doc.pages for e in p.elements]


@pytest.mark.parametrize("rotation", [90, 270])
def test_rotate_flag_on_upright_content_reads_the_sideways_text(rotation):
    # a portrait page given /Rotate in a viewer (content not turned with it): on screen the text
    # runs down the page. It came out as one letter per "line" ("B S F", "o e i r"...)
    def draw(c):
        c.setFont("Helvetica", 14)  # reportlab's user space here is 841.89 x 595.28
        c.drawString(72, 500, "Quarterly revenue grew strongly")
        c.drawString(72, 470, "Second line of the memo")
        c.drawString(72, 100, "Signed by the treasurer")

    doc, els = _elements(_pdf(draw, rotation=rotation))
    page = doc.pages[0]
    assert (round(page.width), round(page.height)) == (595, 842)  # the page as displayed
    text = " | ".join(e.text for e in els)
    assert "Quarterly revenue grew strongly" in text and "Signed by the treasurer" in text
    assert text.index("Quarterly") < text.index("Second line") < text.index("Signed")
    first = next(e for e in els if "Quarterly" in e.text).bbox
    # displayed boxes: the sideways line is tall and narrow and lies on the page
    assert first.height > 3 * first.width
    assert 0 <= first.x0 < first.x1 <= page.width and 0 <= first.y0 < first.y1 <= page.height
    # where it is on screen: /Rotate 90 shows user (x, y) at (y, x); 270 at (595 - y, 842 - x)
    want_y0 = 72 if rotation == 90 else 842 - first.height - 72
    assert abs(first.y0 - want_y0) < 3


def test_landscape_table_drawn_turned_on_a_portrait_page():
    # a wide table printed sideways on a portrait page (no /Rotate): text at 90 degrees
    def draw(c):
        c.saveState()
        c.translate(500, 72)
        c.rotate(90)
        c.setFont("Helvetica", 12)
        c.drawString(0, 0, "Region      Revenue      Margin")
        c.drawString(0, -20, "North       1200         12%")
        c.restoreState()

    doc, els = _elements(_pdf(draw))
    text = " ".join(e.text for e in els)
    assert "Region" in text and "Revenue" in text and "North" in text and "1200" in text
    assert text.index("Region") < text.index("North")
    page = doc.pages[0]
    assert (round(page.width), round(page.height)) == (595, 842)
    for e in els:
        assert 480 <= e.bbox.x0 and e.bbox.x1 <= 530 and e.bbox.height > e.bbox.width


def test_text_outside_the_crop_box_is_left_out():
    # printers' marks and slugs outside the crop box are not shown by any viewer
    def draw(c):
        c.setFont("Helvetica", 12)
        c.drawString(100, 700, "Visible body text")
        c.drawString(10, 10, "Printer slug outside")
        c.setCropBox((50, 50, 545, 792))

    doc, els = _elements(_pdf(draw))
    assert [e.text for e in els] == ["Visible body text"]
    assert (doc.pages[0].width, doc.pages[0].height) == (495, 742)
    assert els[0].bbox.x0 == pytest.approx(50, abs=1)  # relative to the crop box's corner


def test_soft_hyphens_are_dropped():
    # a word processor's discretionary hyphens, kept in the text layer as U+00AD (here through
    # an embedded TrueType font's ToUnicode map); they split words and left "\xad" in the text
    _dejavu()

    def draw(c):
        c.setFont("DejaVu", 12)
        c.drawString(72, 700, "Donau\u00addampf\u00adschiff is hyphen\u00adated softly")

    _, els = _elements(_pdf(draw))
    assert els[0].text == "Donaudampfschiff is hyphenated softly"


def _dejavu() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont("DejaVu", FONT))


def test_ligatures_and_mixed_page_sizes():
    _dejavu()

    def draw(c):
        sizes = (((595.28, 841.89), "A4 page"), ((612, 792), "Letter page"),
                 ((841.89, 595.28), "Landscape page"), ((72, 72), "Tiny"),
                 ((2383.94, 3370.39), "A0 page"))
        for i, (size, label) in enumerate(sizes):
            c.setPageSize(size)
            c.setFont("DejaVu", 10)
            c.drawString(5, size[1] - 20, label)
            c.drawString(5, size[1] - 40, "\ufb01nal o\ufb03ce \ufb02ow")
            if i < len(sizes) - 1:  # (the helper ends the last page)
                c.showPage()

    doc, _ = _elements(_pdf(draw))
    sizes = [(round(p.width), round(p.height)) for p in doc.pages if p.elements]
    assert sizes == [(595, 842), (612, 792), (842, 595), (72, 72), (2384, 3370)]
    for p in doc.pages:
        text = " ".join(e.text for e in p.elements)
        assert all(e.bbox.x1 <= p.width and e.bbox.y1 <= p.height for e in p.elements)
        if p.width > 72:  # on the 1-inch page the line runs off the edge
            assert "final office flow" in text
        else:
            assert text.startswith("Tiny final office")


def test_filled_form_field_values_are_read():
    # a filled-in PDF form: the values exist only in the widget annotations' appearances
    def draw(c):
        c.setFont("Helvetica", 12)
        c.drawString(72, 750, "Name:")
        c.acroForm.textfield(name="name", value="Jane Doe", x=130, y=740, width=200, height=20)
        c.drawString(72, 650, "Static text below")

    _, els = _elements(_pdf(draw))
    text = " | ".join(e.text for e in els)
    assert "Jane Doe" in text and "Static text below" in text
    assert text.index("Name") < text.index("Jane Doe")


# --------------------------------------------------------------------- bad uploads: CLI and API

def _hello_pdf() -> bytes:
    return _pdf(lambda c: c.drawString(72, 700, "Hello PDF world"))


BAD_UPLOADS = {
    "zero-byte": (b"", 400, "empty"),
    "text-named-pdf": (b"Hello, this is a plain text file\n" * 5, 415, "unsupported"),
    "truncated": (None, 400, "truncated or damaged"),
    "encrypted": (None, 400, "encrypted"),
}


def _bad(name: str) -> bytes:
    from reportlab.lib import pdfencrypt

    data = BAD_UPLOADS[name][0]
    if name == "truncated":
        data = _hello_pdf()[:300]
    elif name == "encrypted":
        enc = pdfencrypt.StandardEncryption("user-pw", ownerPassword="owner", canPrint=0)
        data = _pdf(lambda c: c.drawString(72, 700, "Secret"), encrypt=enc)
    assert data is not None
    return data


@pytest.mark.parametrize("name", sorted(BAD_UPLOADS))
def test_bad_files_one_line_on_the_cli(tmp_path, name):
    path = tmp_path / "upload.pdf"  # the name says PDF whatever the bytes are
    path.write_bytes(_bad(name))
    r = subprocess.run([*CLI, "parse", str(path)],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    assert BAD_UPLOADS[name][2] in lines[0].lower()


@pytest.fixture(scope="module")
def api_client():
    from fastapi.testclient import TestClient

    from prunestack.api.app import create_app
    from prunestack.api.settings import Settings

    with TestClient(create_app(Settings(preload_models=False))) as client:
        yield client


@pytest.mark.parametrize("name", sorted(BAD_UPLOADS))
def test_bad_files_are_4xx_json_on_the_api(api_client, name):
    r = api_client.post("/v1/parse", files={"file": ("upload.pdf", _bad(name), "application/pdf")})
    assert r.status_code == BAD_UPLOADS[name][1], r.text
    assert BAD_UPLOADS[name][2] in r.json()["error"]["message"].lower()


@pytest.mark.parametrize("data, want", [
    # the CLI read these; the API's own sniff answered 415
    (b"\r\n\r\n" + b"%PDF-PLACEHOLDER", "Hello PDF world"),
    (b"<div><h1>Opening hours</h1><p>Mon-Fri 9-17</p></div>", "Opening hours"),
    (b'<?xml version="1.0" encoding="utf-8"?><html><body><p>XHTML page</p></body></html>',
     "XHTML page"),
])
def test_api_detects_what_the_cli_detects(api_client, data, want):
    if data.endswith(b"%PDF-PLACEHOLDER"):
        data = data[: -len(b"%PDF-PLACEHOLDER")] + _hello_pdf()
    r = api_client.post("/v1/parse", files={"file": ("upload", data, "application/octet-stream")})
    assert r.status_code == 200, r.text
    texts = [e["text"] for p in r.json()["document"]["pages"] for e in p["elements"]]
    assert want in " ".join(texts)


def test_media_box_inherited_from_the_page_tree():
    # many producers put /MediaBox on the /Pages node only; pypdfium2's get_cropbox() does not
    # look there and falls back to US Letter, so an A4 page's boxes were 50 pt off (and, with the
    # crop-box clipping, text near the top edge was dropped)
    def draw(c):
        c.setFont("Helvetica", 12)
        c.drawString(72, 30, "Bottom of the A4 page")
        c.drawString(450, 800, "Top right")

    data = _pdf(draw, pageCompression=0)
    page_box = re.search(rb"/MediaBox \[[^\]]*\]", data).group(0)
    assert data.count(page_box) == 1
    data = data.replace(page_box, b" " * len(page_box)).replace(  # (pdfium repairs the xref
        b"/Count 1 /Kids", page_box + b" /Count 1 /Kids")        # offsets this shifts)
    _, els = _elements(data)
    boxes = {e.text: e.bbox for e in els}
    assert set(boxes) == {"Top right", "Bottom of the A4 page"}
    assert boxes["Top right"].y1 == pytest.approx(842 - 800 + 3, abs=4)
    assert boxes["Bottom of the A4 page"].y1 == pytest.approx(842 - 30 + 3, abs=4)


def _scan_pdf(stamp: str, body_text: str = "") -> bytes:
    from reportlab.lib.utils import ImageReader

    size = (360, 160)  # points: a small page keeps the OCR quick
    scan = _text_image(("SCANNED CONTRACT", "AMOUNT DUE 1250"), size=(1000, 444))

    def draw(c):
        c.drawImage(ImageReader(scan), 0, 0, width=size[0], height=size[1])
        c.setFont("Helvetica", 7)
        c.drawString(290, 6, stamp)
        if body_text:
            c.drawString(10, 6, body_text)

    return _pdf(draw, pagesize=size)


def test_scan_with_a_bates_stamp_is_ocrd():
    # legal productions stamp a Bates number as real text onto every scanned page; the page then
    # "had a text layer" and only "ABC000123" was read, the scan itself never
    doc = parse(_scan_pdf("ABC000123"), ocr="rapidocr")
    text = " ".join(e.text for e in doc.pages[0].elements)
    assert "SCANNED" in text and "1250" in text
    assert doc.pages[0].elements[0].source.value == "ocr"


def test_page_with_a_background_image_and_real_text_is_not_ocrd():
    body = "This certificate confirms completion of the safety course by the named person here"
    doc = parse(_scan_pdf("ABC000123", body), ocr="rapidocr")
    text = " ".join(e.text for e in doc.pages[0].elements)
    assert "SCANNED" not in text and "certificate confirms" in text


def test_api_counts_tiff_pages_before_ocr(api_client, monkeypatch):
    # a multi-page TIFF is now read page by page: the server's page limit must apply before OCR
    settings = api_client.app.state.settings
    monkeypatch.setattr(api_client.app.state, "settings",
                        settings.model_copy(update={"max_pages": 2}))
    buf = io.BytesIO()
    blank = Image.new("L", (50, 50), 255)
    blank.save(buf, "TIFF", save_all=True, append_images=[blank] * 3)
    r = api_client.post("/v1/parse", files={"file": ("fax.tif", buf.getvalue(), "image/tiff")})
    assert r.status_code == 413, r.text
    assert "4 pages" in r.json()["error"]["message"]


def test_blank_a0_page_is_rendered_for_ocr_within_the_pixel_cap():
    # an A0 drawing without a text layer was rendered at 200 dpi: 62 megapixels for one page
    from prunestack.parsers.ocr.rapid import RapidOcrBackend
    from prunestack.parsers.pdf import OCR_MAX_PIXELS

    seen: list[tuple[int, int]] = []

    class Recording(RapidOcrBackend):
        def recognize_page(self, image):
            seen.append(image.size)
            return super().recognize_page(image)

    data = _pdf(lambda c: c.rect(100, 100, 50, 50), pagesize=(2383.94, 3370.39))
    doc = parse(data, ocr=Recording())
    assert len(seen) == 1 and seen[0][0] * seen[0][1] <= OCR_MAX_PIXELS
    assert (round(doc.pages[0].width), round(doc.pages[0].height)) == (2384, 3370)


def test_tiff_pages_decode_one_at_a_time():
    buf = io.BytesIO()
    pages = [Image.new("L", (40 + 10 * i, 30), 255) for i in range(4)]
    pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:])
    from prunestack.parsers.image import count_pages

    assert count_pages(buf.getvalue()) == 4
    [(third, f)] = load_pages(buf.getvalue(), pages=[3])
    assert third.size == (60, 30) and f == 1.0


def test_letter_spaced_text_stays_whole_words():
    # tracked text (Tc, a quarter em here: headings, brochure body text) came out "T r a c k e d"
    def draw(c):
        c.saveState()
        t = c.beginText(72, 660)
        t.setFont("Helvetica", 10)
        t.setCharSpace(2.5)
        t.textLine("Tracked body text is here ok")
        c.drawText(t)
        c.restoreState()
        c.setFont("Helvetica", 10)
        for i, w in enumerate("Positioned words without any spaces".split()):
            c.drawString(72 + i * 70, 580, w)  # word by word, no space characters

    from prunestack.parsers.pdf import pdf_page_lines

    lines = pdf_page_lines(_pdf(draw))[0].lines
    assert [[w.text for w in ln.words] for ln in lines] == [
        ["Tracked", "body", "text", "is", "here", "ok"],
        ["Positioned", "words", "without", "any", "spaces"]]
