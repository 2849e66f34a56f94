"""Web page bytes to text: a byte-order mark, else the declared charset read the way browsers
read it, else strict UTF-8 — the one HTML decoder of ``parsers.html`` and ``retrieval.clean``.

``decode_html(data, encoding=None)`` decodes by an explicit ``encoding`` (a caller who knows
better), else a byte-order mark (``bom_codec``: UTF-8, UTF-32 LE/BE, UTF-16 LE/BE, the UTF-32
marks tested first: ``FF FE 00 00`` also starts a UTF-16-LE mark), else the page's own
declaration, else strict UTF-8. Bytes that do not decode raise ``InputError``; an empty page is
``""`` (callers decide whether that is an error).

``declared_charset(data)`` finds the page's own declaration — a ``<meta charset>`` /
``http-equiv`` tag in the first ``META_SCAN_BYTES`` (real pages put kilobytes of inline script and
style before it), else an XML declaration's ``encoding`` — and ``browser_codec(label)`` maps the
label to the Python codec a browser actually uses for it (the WHATWG Encoding Standard):
``iso-8859-1``/``latin1``/``us-ascii`` mean windows-1252 (so bytes 0x80-0x9F are €, smart quotes
and dashes, not C1 control characters), ``gb2312``/``gbk`` mean gb18030, ``shift_jis`` means
windows-31j (cp932), ``euc-kr`` means cp949, ``tis-620`` means cp874, and a ``utf-16`` label on a
page without a BOM means UTF-8 (a page whose declaration is ASCII-readable is not UTF-16).

``visible(text)`` drops characters that render as nothing (soft hyphens, zero-width spaces).

``require_text(text)`` refuses a ``str`` that is not text: a lone UTF-16 surrogate (what a JSON
``"\\ud800"`` escape without its pair decodes to) cannot be encoded, and tokenizers fail on it
with a ``TypeError``. Text given as ``str`` (``decode_html`` of a ``str``, ``parsers.text``) is
checked here, once, on its way in; decoded bytes never hold one.

It does not guess an undeclared charset: an undeclared, non-UTF-8 page is refused rather than
guessed into mojibake. It does not parse HTML.
"""

from __future__ import annotations

import codecs
import re

from prunestack.errors import InputError

#: How far into the page a ``<meta charset>`` is looked for.
META_SCAN_BYTES = 64 * 1024
_META = re.compile(rb"""<meta[^>]{0,512}?charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9_\-:.]+)""", re.I)
# Python codec names (as codecs.lookup reports them) → the superset browsers decode them with.
_BROWSER = {
    "iso8859-1": "cp1252", "ascii": "cp1252", "latin-1": "cp1252",
    "iso8859-9": "cp1254", "iso8859-11": "cp874", "tis-620": "cp874",
    "gb2312": "gb18030", "gbk": "gb18030",
    "shift_jis": "cp932", "euc_kr": "cp949", "big5": "big5hkscs",
    "utf-16": "utf-8", "utf-16-le": "utf-8", "utf-16-be": "utf-8",
    "utf-32": "utf-8", "utf-32-le": "utf-8", "utf-32-be": "utf-8",
}
_ALIASES = {"x-sjis": "shift_jis", "x-gbk": "gbk", "windows-31j": "cp932", "x-cp1252": "cp1252"}


#: Byte-order marks and the codec that decodes (and drops) each; UTF-32 before UTF-16.
BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"))


def bom_codec(data: bytes) -> str | None:
    """The codec ``data``'s byte-order mark names (None: no mark)."""
    return next((codec for bom, codec in BOMS if data.startswith(bom)), None)


def require_text(text: str, what: str = "text") -> str:
    """``text`` itself, or ``InputError`` when it holds a lone surrogate (see the module
    docstring)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(f"the {what} holds a lone UTF-16 surrogate "
                         f"({exc.object[exc.start:exc.end]!a}) at character {exc.start}: "
                         "it is not text",
                         "send UTF-8 text; a \\ud800-\\udbff escape in JSON must be followed "
                         "by a \\udc00-\\udfff one") from None
    return text


def decode_html(data: bytes | str, encoding: str | None = None) -> str:
    """Page bytes as text (see the module docstring); a ``str`` is returned as it is, once
    :func:`require_text` has checked it."""
    if isinstance(data, str):
        return require_text(data, "HTML")
    if encoding:
        how = f"the encoding given ({encoding!r})"
    elif (codec := bom_codec(data)) is not None:
        encoding, how = codec, "its byte-order mark"
    elif (declared := declared_charset(data)) is not None:
        encoding, how = declared[1], f"its declared charset {declared[0]!r}"
    else:
        encoding, how = "utf-8", "UTF-8: no charset declared"
    try:
        return data.decode(encoding)
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}", "e.g. utf-8, latin-1, cp1252") from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"the HTML is not valid {exc.encoding} at byte {exc.start} (decoded by {how})",
            "save the page as UTF-8, declare its charset in <meta charset=...>, or name its "
            "encoding (the html commands' --encoding)") from None


def browser_codec(label: str) -> str | None:
    """The Python codec a browser decodes a page labelled ``label`` with (None: unknown label)."""
    name = label.strip().lower()
    name = _ALIASES.get(name, name)
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return None
    return _BROWSER.get(canonical, canonical)


def declared_charset(data: bytes) -> tuple[str, str] | None:
    """``(label as written, codec to decode with)`` of the page's own declaration, if any."""
    head = data[:META_SCAN_BYTES]
    m = _META.search(head) or _XML_DECL.match(head)
    if m is None:
        return None
    label = m.group(1).decode("ascii", "replace")
    codec = browser_codec(label)
    return (label, codec) if codec else None


#: Characters that render as nothing but split words for search: soft hyphen (``&shy;``, German
#: and Dutch CMS text is full of them), zero-width space, word joiner, an in-text BOM.
INVISIBLE = {0xAD: None, 0x200B: None, 0x2060: None, 0xFEFF: None}


def visible(text: str) -> str:
    """``text`` without the characters of ``INVISIBLE``."""
    return text.translate(INVISIBLE)
