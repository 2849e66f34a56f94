"""CCTree structure, MoDora keyword budgets (hand-computed), keywords and location lookups."""

from __future__ import annotations

import math

import pytest

from prunestack.errors import InputError
from prunestack.parsers.cctree import (
    ContentLayer,
    NodeKind,
    build_cctree,
    find_by_location,
    keyword_budget,
    terms,
)
from prunestack.pipeline.document import (
    BBox,
    Document,
    Element,
    ElementKind,
    Page,
    Source,
    TableCell,
)


def el(n: int, kind: ElementKind, text: str, y: float, *, page: int = 1, x: float = 50,
       **kw) -> Element:
    return Element(id=f"p{page}-e{n}", kind=kind, text=text, page=page, source=Source.PDF_TEXT,
                   bbox=BBox(x0=x, y0=y, x1=x + 200, y1=y + 12), **kw)


def sample_doc() -> Document:
    K = ElementKind
    cells = [TableCell(row=r, col=c, text=t) for r, row in
             enumerate([["Item", "Price"], ["Bolt", "1.00"], ["Nut", "0.50"]])
             for c, t in enumerate(row)]
    p1 = [
        el(1, K.HEADER, "Northwind quarterly", 10),
        el(2, K.TITLE, "Invoice", 40, level=1),
        el(3, K.KEY_VALUE, "Invoice No: 42", 70, key="Invoice No", value="42"),
        el(4, K.KEY_VALUE, "Date: 2024-03-15", 85, key="Date", value="2024-03-15"),
        el(5, K.TEXT, "Hardware supplies shipped from Bristol.", 100),
        el(6, K.HEADING, "Items", 130, level=2),
        el(7, K.CAPTION, "Table 1: hardware prices", 150),
        el(8, K.TABLE, "Item | Price\nBolt | 1.00\nNut | 0.50", 170, cells=cells),
        el(9, K.CAPTION, "Figure 9: unrelated caption", 260),
        el(10, K.TEXT, "Bolts are galvanised steel.", 280),
        el(11, K.PAGE_NUMBER, "1", 770, x=300),
    ]
    p2 = [
        el(1, K.HEADING, "Terms", 40, page=2, level=2),
        el(2, K.LIST_ITEM, "• Payment within thirty days", 70, page=2),
        el(3, K.LIST_ITEM, "• Returns within fourteen days", 85, page=2),
        el(4, K.FIGURE, "warehouse photo", 300, page=2, x=350),
        el(5, K.CAPTION, "Figure 1: the Bristol warehouse", 420, page=2, x=350),
        el(6, K.HEADING, "Appendix", 500, page=2, level=1),
        el(7, K.TEXT, "Contact the warehouse team.", 520, page=2),
        el(8, K.FOOTER, "Northwind Traders", 780, page=2),
    ]
    return Document(source_name="t.pdf", mime_type="application/pdf",
                    pages=[Page(number=1, width=612, height=792, elements=p1),
                           Page(number=2, width=612, height=792, elements=p2)])


def shape(node) -> list:
    return [node.kind.value, node.title, [shape(c) for c in node.children]]


def test_structure_sections_components_supplements():
    t = build_cctree(sample_doc())
    assert t.kind == NodeKind.ROOT and t.title == "Invoice" and t.id == "n0"
    assert shape(t) == [
        "root", "Invoice", [
            ["section", "Invoice", [
                ["key_value_group", "", []],
                ["text", "", []],
                ["section", "Items", [
                    ["table", "Table 1: hardware prices", []],
                    ["text", "", []],  # non-adjacent caption is plain text, joined by the next
                ]],
                ["section", "Terms", [
                    ["list", "", []],
                    ["figure", "Figure 1: the Bristol warehouse", []],
                ]],
            ]],
            ["section", "Appendix", [["text", "", []]]],  # level 1 pops both level-2 sections
            ["supplement", "page 1 supplement", [["header", "", []], ["page_number", "", []]]],
            ["supplement", "page 2 supplement", [["footer", "", []]]],
        ],
    ]
    kv = t.children[0].children[0]
    assert [(p.key, p.value, p.element_id) for p in kv.pairs] == [
        ("Invoice No", "42", "p1-e3"), ("Date", "2024-03-15", "p1-e4")]
    table = t.children[0].children[2].children[0]
    assert table.rows == [["Item", "Price"], ["Bolt", "1.00"], ["Nut", "0.50"]]
    assert table.element_ids == ["p1-e8", "p1-e7"]
    items = t.children[0].children[2].children[1]
    assert items.text == "Figure 9: unrelated caption\n\nBolts are galvanised steel."
    lst = t.children[0].children[3].children[0]
    assert lst.text == "Payment within thirty days\nReturns within fourteen days"
    assert lst.pages == [2] and len(lst.bboxes) == 2 and lst.bboxes[0].page == 2
    for sup in t.children[2:]:
        assert sup.content_layer == ContentLayer.FURNITURE
        assert all(c.content_layer == ContentLayer.FURNITURE for c in sup.children)
    assert t.pages == [1, 2]
    ids = [n.id for n in t.iter()]
    assert ids == [f"n{i}" for i in range(len(ids))]
    assert t.node("n3").kind == NodeKind.TEXT


def test_heading_closes_text_component():
    K = ElementKind
    doc = Document(mime_type="application/pdf", pages=[Page(number=1, width=600, height=800,
        elements=[el(1, K.TEXT, "first", 10), el(2, K.TEXT, "second", 30),
                  el(3, K.HEADING, "H", 50, level=1), el(4, K.TEXT, "third", 70)])])
    t = build_cctree(doc)
    assert shape(t) == ["root", "", [["text", "", []], ["section", "H", [["text", "", []]]]]]
    assert t.children[0].text == "first\n\nsecond"
    assert t.children[0].element_ids == ["p1-e1", "p1-e2"]


def test_keyword_budget_formula_hand_computed():
    assert keyword_budget(3, 1, []) == 2  # leaf
    # depth 3, height 2, children 2 + 2: (3+2-1)/3 + log2(16) + 1 = 1.333 + 4 + 1 -> 7
    assert keyword_budget(3, 2, [2, 2]) == 7
    # depth 2, height 3, children 2 + 7 + 5: 4/2 + log2(196) + 1 = 2 + 7.61 + 1 -> 11
    assert keyword_budget(2, 3, [2, 7, 5]) == 11
    # root: depth 1, height 4, one child with 11: 4 + log2(121) + 1 = 11.92 -> 12
    assert keyword_budget(1, 4, [11]) == 12
    assert keyword_budget(1, 2, [2]) == math.ceil(2 + 2 + 1)


def test_keyword_budgets_in_tree():
    t = build_cctree(sample_doc())
    items = t.children[0].children[2]  # section "Items": depth 3, two leaf children
    assert (items.depth, items.height) == (3, 2)
    assert items.keyword_budget == keyword_budget(3, 2, [2, 2]) == 7
    for n in t.iter():
        if not n.children:
            assert n.keyword_budget == 2 and n.height == 1
        else:
            assert n.keyword_budget == keyword_budget(
                n.depth, n.height, [c.keyword_budget for c in n.children])
        assert len(n.keywords) <= n.keyword_budget
        assert len(set(n.keywords)) == len(n.keywords)


def test_keywords_tfidf_hand_computed():
    K = ElementKind
    doc = Document(mime_type="application/pdf", pages=[Page(number=1, width=600, height=800,
        elements=[el(1, K.HEADING, "Alpha", 10, level=1), el(2, K.TEXT, "apple apple banana", 30),
                  el(3, K.HEADING, "Beta", 50, level=1), el(4, K.TEXT, "banana cherry", 70)])])
    t = build_cctree(doc)
    alpha, beta = t.children
    # leaves: 2 texts; idf = ln((1+N)/(1+df)) + 1: apple ln(3/2)+1 = 1.41, banana ln(3/3)+1 = 1
    assert alpha.children[0].keywords == ["apple", "banana"]  # 2*1.41 > 1*1
    assert beta.children[0].keywords == ["cherry", "banana"]  # 1*1.41 > 1*1
    # section: title counts twice, idf(alpha) = ln(3/1)+1 = 2.10 -> 4.2 > apple 2.81 > banana 1;
    # budget ceil((2+2-1)/2 + log2(2**2) + 1) = ceil(4.5) = 5 >= 3 terms
    assert alpha.keyword_budget == 5 and alpha.keywords == ["alpha", "apple", "banana"]


def test_keywords_in_sample_tree():
    t = build_cctree(sample_doc())
    lst = t.children[0].children[3].children[0]
    assert set(lst.keywords) <= {"payment", "thirty", "days", "returns", "fourteen"}
    assert "days" in lst.keywords  # the only term that occurs twice in the list
    assert "terms" in t.children[0].children[3].keywords
    assert "the" not in [k for n in t.iter() for k in n.keywords]


def test_terms_tokeniser():
    assert terms("The Invoice No: INV-2024-0042, paid 12.50 in full!") == [
        "invoice", "inv-2024-0042", "paid", "full"]


def test_find_by_location_3x3():
    t = build_cctree(sample_doc())
    # page 2 (612 x 792): the figure (x 350..550, centre 450) and its caption lie in the
    # right-middle cell (x 408..612, y 264..528); the centre cell holds no box's centre
    assert [n.kind for n in find_by_location(t, 2, 1, 2)] == [NodeKind.FIGURE]
    assert find_by_location(t, 2, 1, 1) == []
    top_left = find_by_location(t, 1, 0, 0)
    assert {n.kind for n in top_left} >= {NodeKind.SECTION, NodeKind.KEY_VALUE_GROUP,
                                         NodeKind.HEADER}
    bottom = find_by_location(t, 1, 2, 1)
    assert [n.kind for n in bottom] == [NodeKind.PAGE_NUMBER]
    with pytest.raises(InputError):
        find_by_location(t, 3, 0, 0)
    with pytest.raises(InputError):
        find_by_location(t, 1, 3, 0)


def test_find_by_location_refuses_html_pages():
    doc = Document(mime_type="text/html", pages=[Page(number=1, width=0, height=0, elements=[
        Element(id="p1-e1", kind=ElementKind.TEXT, text="x", page=1,
                bbox=BBox(x0=0, y0=0, x1=0, y1=0), source=Source.HTML)])])
    with pytest.raises(InputError, match="no geometry"):
        find_by_location(build_cctree(doc), 1, 0, 0)
