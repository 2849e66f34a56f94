"""Pure pieces of the synthesiser: formatting, money arithmetic, degradations."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import numpy as np
import pytest

from prunestack.eval.synth.content import (
    DATE_FORMATS,
    MoneyStyle,
    format_date,
    invoice,
    money,
    receipt,
)
from prunestack.eval.synth.degrade import (
    ScanConfig,
    blur,
    degrade,
    jpeg,
    low_contrast,
    perspective,
    rotate,
    severity,
)


def test_date_formats():
    d = dt.date(2024, 3, 7)
    assert [format_date(d, f) for f in DATE_FORMATS] == [
        "2024-03-07", "07/03/2024", "03/07/2024", "07.03.2024", "7 March 2024",
        "March 7, 2024", "Mar 7, 2024"]
    with pytest.raises(ValueError):
        format_date(d, "nope")


def test_money_styles_and_rounding():
    x = Decimal("1234.5")
    assert MoneyStyle("EUR", True, False).amount(x) == "1.234,50 EUR"
    assert MoneyStyle("USD", False, True).amount(x) == "$1,234.50"
    assert MoneyStyle("GBP", False, False).number(Decimal("0.5")) == "0.50"
    assert money("2.675") == Decimal("2.68")  # half-up on the decimal value, not binary float


def test_totals_add_up_across_seeds():
    for seed in range(30):
        inv = invoice(random.Random(seed), 1 + seed % 8)
        r = inv["render"]
        assert sum(it["amount"] for it in r["items"]) == r["subtotal"]
        assert r["subtotal"] + r["tax"] == r["total"]
        assert all(it["amount"] == money(it["unit_price"] * it["quantity"]) for it in r["items"])
        rc = receipt(random.Random(seed), 1 + seed % 10)["render"]
        assert rc["tax"] == money(rc["subtotal"] * rc["rate"] / (100 + rc["rate"]))


def _page() -> np.ndarray:
    img = np.full((200, 160), 255, np.uint8)  # [H, W] white page
    img[80:120, 40:120] = 0  # a black block of "ink"
    return img


def test_geometric_degradations_keep_size_and_paper_white():
    img = _page()
    r = rotate(img, 5.0)
    assert r.shape == img.shape and r[0, 0] == 255 and r[100, 80] == 0
    assert not np.array_equal(r, img)
    p = perspective(img, np.full((4, 2), 0.05))
    assert p.shape == img.shape and p[0, 0] == 255 and p[100, 80] == 0
    assert np.array_equal(perspective(img, np.zeros((4, 2))), img)


def test_photometric_degradations():
    img = _page()
    lc = low_contrast(img, 0.6)
    assert lc[100, 80] == 102 and lc[0, 0] == 255  # 255 - 255*0.6; paper unchanged
    b = blur(img, 1.5)
    assert 0 < b[80, 80] < 255  # the edge is smeared
    assert np.array_equal(blur(img, 0.0), img)
    j = jpeg(img, 30)
    assert j.shape == img.shape and j.dtype == np.uint8


def test_degrade_is_seeded_and_within_ranges():
    cfg = ScanConfig()
    a, pa = degrade(_page(), np.random.default_rng(3), cfg)
    b, pb = degrade(_page(), np.random.default_rng(3), cfg)
    c, _ = degrade(_page(), np.random.default_rng(4), cfg)
    assert pa == pb and np.array_equal(a, b) and not np.array_equal(a, c)
    assert abs(pa["rotation_deg"]) <= cfg.max_rotation_deg
    assert cfg.jpeg_quality[0] <= pa["jpeg_quality"] <= cfg.jpeg_quality[1]
    assert 0.0 <= severity(pa, cfg) <= 1.0
    worst = {"rotation_deg": 2.5, "perspective": [[0.025] * 2] * 4, "blur_sigma": 1.1,
             "contrast": 0.6, "noise_sigma": 10.0, "jpeg_quality": 35}
    assert severity(worst, cfg) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        ScanConfig(dpi=10)
