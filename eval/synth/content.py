"""Seeded, plausible content for synthetic invoices, receipts and forms — and its ground truth.

Every function takes a ``random.Random`` and returns plain data; the same generator state gives
the same content. Money is computed with ``Decimal`` and rounded half-up to cents, so line amounts,
subtotals, tax and totals add up exactly as printed; the ground truth stores them as JSON numbers.
Dates are ISO ``YYYY-MM-DD`` in the ground truth and rendered in one of :data:`DATE_FORMATS`.
No network, no Faker: small built-in word lists. Layout and drawing live in
:mod:`eval.synth.templates`.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

FIRST = ["Anna", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas",
         "Keiko", "Liam", "Maya", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sami", "Tara",
         "Umar", "Vera", "Wen", "Yusuf", "Zoe"]
LAST = ["Adams", "Berger", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ito",
        "Jensen", "Kowalski", "Lopez", "Meyer", "Novak", "Okafor", "Petrov", "Rossi", "Silva",
        "Tanaka", "Weber", "Young", "Zimmer"]
COMPANY_A = ["Northwind", "Bluepeak", "Silverline", "Redwood", "Brightside", "Harbor", "Copperleaf",
             "Evergreen", "Granite", "Lakeshore", "Summit", "Oakridge", "Pioneer", "Riverstone"]
COMPANY_B = ["Traders", "Logistics", "Consulting", "Supplies", "Systems", "Foods", "Print Works",
             "Electric", "Design Studio", "Hardware", "Labs", "Analytics"]
SUFFIX = ["Ltd", "GmbH", "Inc.", "LLC", "S.A.", "B.V.", "Co."]
STREETS = ["Main Street", "Station Road", "Elm Avenue", "Market Square", "Harbour Lane",
           "Kingsway", "Mill Road", "Park Avenue", "Lindenstrasse", "Rue de la Paix",
           "Canal Street", "Hill Crescent", "Oak Drive"]
CITIES = [("London", "United Kingdom"), ("Berlin", "Germany"), ("Paris", "France"),
          ("Amsterdam", "Netherlands"), ("Madrid", "Spain"), ("Boston", "United States"),
          ("Toronto", "Canada"), ("Dublin", "Ireland"), ("Vienna", "Austria"),
          ("Lisbon", "Portugal"), ("Chicago", "United States"), ("Zurich", "Switzerland")]
PRODUCTS = ["Consulting hours", "Laptop stand", "USB-C cable", "Office chair", "Printer paper A4",
            "Web hosting (monthly)", "Software licence", "Desk lamp", "Wireless mouse",
            "Design review", "Toner cartridge", "Network switch", "Training session",
            "Support plan", "Monitor 27 inch", "Keyboard", "Delivery fee", "Installation"]
GROCERIES = ["Coffee", "Croissant", "Orange juice", "Sandwich", "Bottled water", "Bagel",
             "Green tea", "Muffin", "Salad bowl", "Soup of the day", "Bananas", "Milk 1L",
             "Bread loaf", "Apples 1kg", "Chocolate bar", "Yoghurt", "Pasta 500g", "Cheese"]
SHOPS = ["Corner Cafe", "Fresh Market", "Daily Grind", "Green Grocer", "City Deli", "Bean There",
         "Quick Stop", "Harvest Foods"]
PAYMENTS = ["Cash", "VISA", "Mastercard", "Debit card", "Apple Pay"]
CURRENCIES = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF"}

#: strftime-like names of the date formats documents use. ``%-d`` style days are built by hand.
DATE_FORMATS = ["iso", "dmy_slash", "mdy_slash", "dmy_dot", "d_month_y", "month_d_y", "mon_d_y"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]

CENT = Decimal("0.01")


def money(x: Decimal | float | str) -> Decimal:
    return Decimal(str(x)).quantize(CENT, rounding=ROUND_HALF_UP)


def format_date(d: dt.date, fmt: str) -> str:
    """One of :data:`DATE_FORMATS`: ``2024-03-07``, ``07/03/2024``, ``03/07/2024``,
    ``07.03.2024``, ``7 March 2024``, ``March 7, 2024``, ``Mar 7, 2024``."""
    if fmt == "iso":
        return d.isoformat()
    if fmt == "dmy_slash":
        return f"{d.day:02d}/{d.month:02d}/{d.year}"
    if fmt == "mdy_slash":
        return f"{d.month:02d}/{d.day:02d}/{d.year}"
    if fmt == "dmy_dot":
        return f"{d.day:02d}.{d.month:02d}.{d.year}"
    if fmt == "d_month_y":
        return f"{d.day} {MONTHS[d.month - 1]} {d.year}"
    if fmt == "month_d_y":
        return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"
    if fmt == "mon_d_y":
        return f"{MONTHS[d.month - 1][:3]} {d.day}, {d.year}"
    raise ValueError(f"unknown date format {fmt!r}")


@dataclass(frozen=True)
class MoneyStyle:
    """How amounts print: ``1,234.50`` (``.`` decimal) or ``1.234,50`` (``,`` decimal), with the
    currency symbol before or the ISO code after."""

    currency: str
    decimal_comma: bool
    symbol_first: bool

    def number(self, x: Decimal) -> str:
        s = f"{x:,.2f}"
        if self.decimal_comma:
            s = s.replace(",", " ").replace(".", ",").replace(" ", ".")
        return s

    def amount(self, x: Decimal) -> str:
        if self.symbol_first:
            return f"{CURRENCIES[self.currency]}{self.number(x)}"
        return f"{self.number(x)} {self.currency}"


def random_date(rng: random.Random, start: dt.date = dt.date(2021, 1, 1),
                days: int = 1400) -> dt.date:
    return start + dt.timedelta(days=rng.randrange(days))


def person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST), rng.choice(LAST)


def company(rng: random.Random) -> str:
    return f"{rng.choice(COMPANY_A)} {rng.choice(COMPANY_B)} {rng.choice(SUFFIX)}"


def address(rng: random.Random) -> dict[str, str]:
    city, country = rng.choice(CITIES)
    return {"street": f"{rng.randint(1, 240)} {rng.choice(STREETS)}", "city": city,
            "postal_code": f"{rng.randint(10000, 99999)}", "country": country}


def phone(rng: random.Random) -> str:
    a, b, c, d = rng.randint(1, 49), rng.randint(100, 999), rng.randint(100, 999), rng.randint(
        1000, 9999)
    return f"+{a} {b} {c} {d}"


def money_style(rng: random.Random) -> MoneyStyle:
    cur = rng.choice(list(CURRENCIES))
    return MoneyStyle(cur, decimal_comma=cur in ("EUR", "CHF") and rng.random() < 0.6,
                      symbol_first=rng.random() < 0.5)


def line_items(rng: random.Random, names: list[str], n: int, lo: float, hi: float,
               max_qty: int) -> list[dict[str, Any]]:
    items = []
    for name in rng.sample(names, n):
        qty = rng.randint(1, max_qty)
        price = money(rng.uniform(lo, hi))
        items.append({"description": name, "quantity": qty, "unit_price": price,
                      "amount": money(price * qty)})
    return items


def _num(x: Decimal) -> float:
    return float(x)


def invoice(rng: random.Random, n_items: int) -> dict[str, Any]:
    """Invoice content. Returns ``{"gt": ground truth, "render": what the template needs}``."""
    style = money_style(rng)
    issued = random_date(rng)
    due = issued + dt.timedelta(days=rng.choice([14, 30, 45, 60]))
    items = line_items(rng, PRODUCTS, n_items, 3, 900, 12)
    subtotal = money(sum((it["amount"] for it in items), Decimal(0)))
    rate = Decimal(rng.choice(["0", "5", "7", "10", "19", "20", "21"]))
    tax = money(subtotal * rate / 100)
    total = subtotal + tax
    first, last = person(rng)
    gt = {
        "invoice_number":
            f"{rng.choice(['INV', 'IN', 'F'])}-{issued.year}-{rng.randint(100, 99999):05d}",
        "invoice_date": issued.isoformat(),
        "due_date": due.isoformat(),
        "currency": style.currency,
        "vendor": {"name": company(rng), "address": address(rng)},
        "customer": {"name": f"{first} {last}" if rng.random() < 0.4 else company(rng),
                     "address": address(rng)},
        "line_items": [{"description": it["description"], "quantity": it["quantity"],
                        "unit_price": _num(it["unit_price"]), "amount": _num(it["amount"])}
                       for it in items],
        "subtotal": _num(subtotal),
        "tax_rate": float(rate),
        "tax": _num(tax),
        "total": _num(total),
    }
    render = {"style": style, "date_format": rng.choice(DATE_FORMATS), "items": items,
              "subtotal": subtotal, "tax": tax, "total": total, "rate": rate,
              "issued": issued, "due": due, "vendor_phone": phone(rng),
              "iban": "DE" + " ".join(str(rng.randint(lo, hi)) for lo, hi in
                                      [(10, 99), (1000, 9999), (1000, 9999), (1000, 9999),
                                       (1000, 9999), (10, 99)])}
    return {"gt": gt, "render": render}


def receipt(rng: random.Random, n_items: int) -> dict[str, Any]:
    style = money_style(rng)
    day = random_date(rng)
    items = line_items(rng, GROCERIES, n_items, 0.5, 12, 4)
    subtotal = money(sum((it["amount"] for it in items), Decimal(0)))
    rate = Decimal(rng.choice(["5", "7", "8", "10", "20"]))
    # Prices include tax, as on most till receipts: tax is the included share.
    tax = money(subtotal * rate / (100 + rate))
    hh, mm = rng.randint(7, 21), rng.randint(0, 59)
    gt = {
        "merchant": {"name": rng.choice(SHOPS).upper(), "address": address(rng),
                     "phone": phone(rng)},
        "date": day.isoformat(),
        "time": f"{hh:02d}:{mm:02d}",
        "currency": style.currency,
        "items": [{"description": it["description"], "quantity": it["quantity"],
                   "price": _num(it["amount"])} for it in items],
        "tax": _num(tax),
        "total": _num(subtotal),
        "payment_method": rng.choice(PAYMENTS),
    }
    dfmt = rng.choice(["iso", "dmy_slash", "mdy_slash", "dmy_dot"])
    render = {"style": style, "date_format": dfmt,
              "items": items, "subtotal": subtotal, "tax": tax, "rate": rate, "day": day,
              "receipt_no": rng.randint(1000, 999999), "cashier": rng.choice(FIRST)}
    return {"gt": gt, "render": render}


def form(rng: random.Random) -> dict[str, Any]:
    first, last = person(rng)
    born = random_date(rng, dt.date(1950, 1, 1), 18000)
    start = random_date(rng)
    signed = start - dt.timedelta(days=rng.randint(1, 40))
    gt = {
        "form_id": f"APP-{rng.randint(100000, 999999)}",
        "applicant": {
            "first_name": first,
            "last_name": last,
            "date_of_birth": born.isoformat(),
            "email": f"{first.lower()}.{last.lower()}@example.{rng.choice(['com', 'org', 'net'])}",
            "phone": phone(rng),
            "address": address(rng),
        },
        "employer": company(rng),
        "start_date": start.isoformat(),
        "membership_type": rng.choice(["Standard", "Premium", "Student", "Family"]),
        "newsletter": rng.random() < 0.5,
        "terms_accepted": rng.random() < 0.85,
        "signature_date": signed.isoformat(),
    }
    return {"gt": gt, "render": {"date_format": rng.choice(DATE_FORMATS)}}
