"""SROIE-style shop receipts as images, with their ground truth, for extraction tests.

Modelled on the ICDAR 2019 SROIE set (Malaysian thermal-paper receipts; fields company, date,
address, total): a narrow 58/80 mm strip at 200-250 dpi in a monospace or condensed font; a
centred header (shop name in capitals, a registration number "(860019-U)" / "Co. Reg. No: ...",
a multi-line address with postcode and state, phone, "GST ID NO: ..."), "TAX INVOICE", a document
number, a date in one of the forms Malaysian tills print (25/12/2018, 25-12-2018, 2018-12-25,
25 DEC 2018, 25/12/18) with a time, item lines, SUBTOTAL, GST/SST, ROUNDING ADJ, a grand total
under one of several captions, CASH, CHANGE and a thank-you footer. Scan realism: faded print,
uneven lighting, blur, noise, a small rotation, and sometimes a phone-photo look (perspective,
a table surface around the paper).

Ground truth follows SROIE's conventions: ``company`` and ``address`` as printed (address lines
joined by one space), ``date`` as printed (without the time), ``total`` the grand total's printed
amount. ``receipt(seed)`` is deterministic. This module draws receipts only; it does not OCR or
score them (see ``test_receipts_realworld.py``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONTS = ["/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
         "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
         "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf"]

SHOPS = ["SANYU STATIONERY SHOP", "MR. D.I.Y. (M) SDN BHD", "POPULAR BOOK CO. (M) SDN BHD",
         "KEDAI PAPAN YEW CHUAN", "AEON CO. (M) BHD", "GARDENIA BAKERIES (KL) SDN BHD",
         "UNIHAKKA INTERNATIONAL SDN BHD", "LIGHTROOM GALLERY SDN BHD",
         "PERNIAGAAN ZHENG HUI", "SYARIKAT PERNIAGAAN GIN KEE", "BOOK TA .K (TAMAN DAYA) SDN BHD",
         "99 SPEED MART S/B", "RESTORAN WAN SHENG", "TOKO MAKMUR JAYA ENTERPRISE",
         "OJC MARKETING SDN BHD", "YONGFATT ENTERPRISE", "MYDIN MOHAMED HOLDINGS BHD"]
STREETS = ["JALAN PERMAS 10/8", "JALAN SS 2/61", "JALAN TEMENGGUNG 27/9", "JALAN PUTRA 1",
           "JALAN KENARI 17", "LORONG HAJI TAIB 2", "JALAN BUKIT BINTANG", "JALAN IPOH",
           "JALAN TUN RAZAK", "JALAN SETIA 3/4", "JALAN MEWAH 25/63"]
AREAS = ["BANDAR BARU PERMAS JAYA", "TAMAN DAYA", "TAMAN SRI SERDANG", "BANDAR PUCHONG JAYA",
         "TAMAN MOLEK", "SEKSYEN 9", "TAMAN MAJU JAYA", "BANDAR TUN HUSSEIN ONN"]
CITIES = [("81750", "JOHOR BAHRU", "JOHOR"), ("47300", "PETALING JAYA", "SELANGOR"),
          ("43300", "SERI KEMBANGAN", "SELANGOR"), ("50450", "KUALA LUMPUR", "W.P."),
          ("43200", "CHERAS", "SELANGOR"), ("40150", "SHAH ALAM", "SELANGOR"),
          ("81100", "JOHOR BAHRU", "JOHOR"), ("47100", "PUCHONG", "SELANGOR")]
ITEMS = ["PILOT G2 GEL PEN 0.5", "A4 PAPER 80GSM", "KF MODELLING CLAY", "PVC PIPE 1/2\"",
         "CHICKEN RICE", "TEH TARIK", "MILO ICE", "PLASTIC CONTAINER", "BATTERY AA 4S",
         "CABLE TIE 8\"", "FOLDER A4 BLUE", "WHITE BREAD 400G", "MINERAL WATER 1.5L",
         "SCREW 3/4 (100PCS)", "NASI LEMAK AYAM", "GLUE STICK 21G", "STAPLER NO.10"]
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
TOTAL_CAPTIONS = ["TOTAL (RM)", "TOTAL INCL. GST", "NETT TOTAL", "TOTAL", "TOTAL AMOUNT",
                  "GRAND TOTAL", "TOTAL RM"]

SROIE_SCHEMA = {
    "type": "object",
    "properties": {
        "company": {"type": "string", "description": "name of the shop that issued the receipt"},
        "date": {"type": "string", "description": "date of the receipt as printed"},
        "address": {"type": "string", "description": "address of the shop"},
        "total": {"type": "number", "description": "total amount paid"},
    },
}


@dataclass
class Receipt:
    image: Image.Image
    truth: dict[str, str]  # company, date, address, total (SROIE: printed text)
    iso_date: str
    lines: list[str] = field(default_factory=list)


def _date(rng: random.Random) -> tuple[str, str]:
    y, m, d = rng.randint(2016, 2019), rng.randint(1, 12), rng.randint(1, 28)
    form = rng.choice(["d/m/Y", "d-m-Y", "Y-m-d", "d MON Y", "d/m/y", "d.m.Y"])
    text = {"d/m/Y": f"{d:02d}/{m:02d}/{y}", "d-m-Y": f"{d:02d}-{m:02d}-{y}",
            "Y-m-d": f"{y}-{m:02d}-{d:02d}", "d MON Y": f"{d:02d} {MONTHS[m - 1]} {y}",
            "d/m/y": f"{d:02d}/{m:02d}/{y % 100:02d}", "d.m.Y": f"{d:02d}.{m:02d}.{y}"}[form]
    return text, f"{y}-{m:02d}-{d:02d}"


def _layout(rng: random.Random, width: int) -> tuple[list[tuple[str, str]], dict[str, str], str]:
    """Receipt lines as (align, text) with align in c/l/r or "lr" (text "left\\tright")."""
    shop = rng.choice(SHOPS)
    reg = rng.choice([f"({rng.randint(100000, 999999)}-{rng.choice('UVWAXD')})",
                      f"Co. Reg. No: {rng.randint(2010, 2019)}0{rng.randint(10000000, 99999999)}",
                      f"COMPANY NO. {rng.randint(100000, 999999)}-{rng.choice('UVKD')}"])
    post, city, state = rng.choice(CITIES)
    addr = [f"NO. {rng.randint(1, 199)}, {rng.choice(STREETS)},", f"{rng.choice(AREAS)},",
            f"{post} {city}, {state}".rstrip(".") + "."]
    if rng.random() < 0.4:  # two address lines only
        addr = [f"LOT {rng.randint(1, 99)}, {rng.choice(STREETS)}, {rng.choice(AREAS)},",
                f"{post} {city}, {state}".rstrip(".") + "."] if rng.random() < 0.5 else \
            [addr[0] + " " + addr[1], addr[2]]
    date_text, iso = _date(rng)
    time_text = f"{rng.randint(8, 22):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    lines: list[tuple[str, str]] = [("c", shop)]
    if rng.random() < 0.5:
        lines.append(("c", reg))
    else:
        lines[0] = ("c", f"{shop} {reg}") if len(shop) + len(reg) < 32 else lines[0]
        if lines[0][1] == shop:
            lines.append(("c", reg))
    lines += [("c", a) for a in addr]
    lines.append(("c", f"TEL: 0{rng.randint(3, 9)}-{rng.randint(1000000, 9999999)}"))
    if rng.random() < 0.8:
        lines.append(("c", f"GST ID NO: {rng.randint(10**11, 10**12 - 1):012d}"))
    lines += [("c", ""), ("c", rng.choice(["TAX INVOICE", "SIMPLIFIED TAX INVOICE", "RECEIPT"]))]
    doc_no = f"{rng.choice(['CS', 'INV', 'OR', 'T1'])}{rng.randint(10000, 999999)}"
    if rng.random() < 0.5:
        lines += [("l", f"INVOICE NO : {doc_no}"), ("l", f"DATE : {date_text} {time_text}")]
    else:
        lines += [("lr", f"{doc_no}\t{date_text} {time_text}")]
    lines.append(("l", f"CASHIER : {rng.choice(['ANIS', 'LEE', '01', 'MANAGER', 'SITI'])}"))
    lines.append(("l", "-" * 60))
    sub = 0.0
    for _ in range(rng.randint(1, 5)):
        qty, price = rng.randint(1, 4), round(rng.uniform(0.8, 45.0), 2)
        amt = round(qty * price, 2)
        sub += amt
        lines.append(("l", rng.choice(ITEMS)))
        lines.append(("lr", f"  {qty} x {price:.2f}\t{amt:.2f}"))
    lines.append(("l", "-" * 60))
    sub = round(sub, 2)
    tax_name = rng.choice(["GST 6%", "SST 6%", "GST @6%", "SERVICE TAX 6%"])
    with_tax = rng.random() < 0.7
    tax = round(sub * 0.06, 2) if with_tax else 0.0
    gross = round(sub + tax, 2)
    total = round(round(gross * 20) / 20, 2)  # Malaysian 5-sen rounding
    lines.append(("lr", f"SUBTOTAL\t{sub:.2f}"))
    if with_tax:
        lines.append(("lr", f"{tax_name}\t{tax:.2f}"))
    if abs(total - gross) > 1e-9 or rng.random() < 0.5:
        lines.append(("lr", f"ROUNDING ADJ\t{total - gross:.2f}"))
    caption = rng.choice(TOTAL_CAPTIONS)
    lines.append(("lr", f"{caption}\t{'RM ' if rng.random() < 0.3 else ''}{total:.2f}"))
    cash = total + rng.choice([0.0, 0.1, 1.0, 5.0, 10.0, 50.0])
    cash = float(np.ceil(cash)) if rng.random() < 0.6 else round(cash, 2)
    lines += [("lr", f"CASH\t{cash:.2f}"), ("lr", f"CHANGE\t{cash - total:.2f}")]
    if with_tax and rng.random() < 0.6:
        lines += [("l", ""), ("lr", "GST SUMMARY\tAMOUNT(RM) TAX(RM)"),
                  ("lr", f"SR @ 6%\t{sub:.2f}   {tax:.2f}")]
    lines += [("c", ""), ("c", rng.choice(["THANK YOU PLEASE COME AGAIN",
                                          "THANK YOU, PLEASE COME AGAIN !",
                                          "GOODS SOLD ARE NOT RETURNABLE"]))]
    truth = {"company": shop, "date": date_text, "address": " ".join(addr),
             "total": f"{total:.2f}"}
    return lines, truth, iso


def _draw(lines: list[tuple[str, str]], rng: random.Random) -> Image.Image:
    width = rng.choice([464, 576, 640, 787])  # 58 mm @ 203 dpi ... 80 mm @ 250 dpi
    chars = 32 if width == 464 else rng.choice([40, 42, 44])
    font_path = rng.choice(FONTS)
    probe = ImageFont.truetype(font_path, 100)
    per_char = probe.getlength("M" * 10) / 1000  # width of one char per pixel of font size
    size = int((width - 40) / (chars * per_char))
    font = ImageFont.truetype(font_path, size)
    line_h = int(size * rng.uniform(1.25, 1.5))
    img = Image.new("L", (width, line_h * (len(lines) + 6)), 255)
    d = ImageDraw.Draw(img)
    margin, y = 20, 3 * line_h
    ink = rng.randint(0, 60)
    for align, text in lines:
        if align == "lr":
            left, right = text.split("\t")
            d.text((margin, y), left, font=font, fill=ink)
            d.text((width - margin - font.getlength(right), y), right, font=font, fill=ink)
        elif text.startswith("---"):
            d.text((margin, y), "-" * int((width - 2 * margin) / font.getlength("-")),
                   font=font, fill=ink)
        else:
            w = font.getlength(text)
            x = (width - w) / 2 if align == "c" else margin
            d.text((max(2, x), y), text, font=font, fill=ink)
        y += line_h
    return img


def _degrade(img: Image.Image, rng: random.Random) -> Image.Image:
    a = np.asarray(img, dtype=np.float32)
    h, w = a.shape
    fade = rng.uniform(0.0, 0.45)  # faded thermal print: ink drifts towards the paper
    a = a + (255 - a) * fade * (0.6 + 0.4 * np.random.default_rng(rng.randint(0, 9999))
                                .random((h, 1)).astype(np.float32))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 1.0 - rng.uniform(0.0, 0.25) * ((xx / w - rng.random()) ** 2 + (yy / h - rng.random())
                                            ** 2)
    a = a * light * rng.uniform(0.88, 1.0)
    a += np.random.default_rng(rng.randint(0, 9999)).normal(0, rng.uniform(2, 9), a.shape)
    out = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    if rng.random() < 0.35:  # phone photo: paper on a table, slight perspective
        pad = int(0.12 * w)
        bg = Image.new("L", (w + 2 * pad, h + 2 * pad), rng.randint(60, 140))
        bg.paste(out, (pad, pad))
        bw, bh = bg.size
        j = [rng.uniform(-0.03, 0.03) * bw for _ in range(8)]
        quad = (j[0], j[1], j[2], bh + j[3], bw + j[4], bh + j[5], bw + j[6], j[7])
        out = bg.transform(bg.size, Image.Transform.QUAD, quad, Image.Resampling.BICUBIC)
    angle = rng.uniform(-2.0, 2.0)
    out = out.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True,
                     fillcolor=rng.randint(200, 255))
    return out.convert("RGB")


def receipt(seed: int) -> Receipt:
    """The receipt of ``seed``: the same image and truth for the same seed."""
    rng = random.Random(seed)
    lines, truth, iso = _layout(rng, 0)
    img = _degrade(_draw(lines, rng), rng)
    return Receipt(img, truth, iso, [t.replace("\t", " ") for _, t in lines])
