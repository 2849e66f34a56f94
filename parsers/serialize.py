"""Serialisers for the CCTree (JSON, Markdown, indented tree) and the Document (JSON).

* ``to_json(tree)`` — the pydantic dump of ``CCNode`` (schema in docs/cctree.md); ``from_json``
  reads it back.
* ``to_markdown(tree)`` — sections as ``#`` headings (level + 0, capped at 6), text as paragraphs,
  lists as ``-`` items, tables as pipe tables (row 0 is the header), key–value groups as
  ``**key**: value`` lines, figures as an italic caption line; furniture goes to a final
  ``## Page furniture`` section (omitted with ``furniture=False``).
* ``to_tree(tree)`` — what ``prunestack parse --format tree`` prints: one line per node with its
  kind, a short text and its pages, e.g. ``└─ section "Invoice" [p1]``.
* ``document_to_json(doc)`` / ``document_from_json`` — the element-level model.

All walks are iterative; nothing here reads files.
"""

from __future__ import annotations

from prunestack.parsers.cctree import CCNode, ContentLayer, NodeKind
from prunestack.pipeline.document import Document

SHORT = 60


def to_json(tree: CCNode, *, indent: int | None = 2) -> str:
    return tree.model_dump_json(indent=indent, exclude_none=True)


def from_json(data: str | bytes) -> CCNode:
    return CCNode.model_validate_json(data)


def document_to_json(doc: Document, *, indent: int | None = 2) -> str:
    return doc.model_dump_json(indent=indent, exclude_none=True)


def document_from_json(data: str | bytes) -> Document:
    return Document.model_validate_json(data)


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def _pipe_table(rows: list[list[str]]) -> list[str]:
    if not rows:
        return []
    width = max(len(r) for r in rows)
    rows = [[*r, *([""] * (width - len(r)))] for r in rows]
    out = ["| " + " | ".join(_cell(c) for c in rows[0]) + " |",
           "|" + "|".join(["---"] * width) + "|"]
    out += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows[1:]]
    return out


def _markdown_block(node: CCNode) -> list[str]:
    if node.kind == NodeKind.SECTION:
        return ["#" * min(6, max(1, node.level or 1)) + " " + node.title.strip()]
    if node.kind == NodeKind.TEXT:
        return [node.text.strip()]
    if node.kind == NodeKind.LIST:
        return ["\n".join(f"- {line}" for line in node.text.splitlines() if line.strip())]
    if node.kind == NodeKind.KEY_VALUE_GROUP:
        return ["\n".join(f"**{p.key}**: {p.value}" for p in node.pairs or [])]
    if node.kind == NodeKind.TABLE:
        lines = _pipe_table(node.rows or [])
        if node.title:
            lines.append(f"\n*{node.title.strip()}*")
        return ["\n".join(lines)]
    if node.kind == NodeKind.FIGURE:
        return [f"*{(node.title or node.text or 'Figure').strip()}*"]
    return []


def to_markdown(tree: CCNode, *, furniture: bool = True) -> str:
    blocks: list[str] = []
    furn: list[str] = []
    if tree.title and not any(
        n.kind == NodeKind.SECTION and n.title == tree.title for n in tree.children
    ):
        blocks.append(f"# {tree.title.strip()}")
    for node in tree.iter():
        if node.content_layer == ContentLayer.FURNITURE:
            if node.kind not in (NodeKind.SUPPLEMENT, NodeKind.ROOT):
                furn.append(f"- p{node.page} {node.kind.value}: {node.text.strip()}")
            continue
        blocks += [b for b in _markdown_block(node) if b]
    if furniture and furn:
        blocks.append("## Page furniture\n\n" + "\n".join(furn))
    return "\n\n".join(blocks) + "\n"


def _pages(node: CCNode) -> str:
    """Pages a node covers; for sections and the root, the pages of their whole subtree."""
    pages = set(node.pages)
    if node.kind in (NodeKind.SECTION, NodeKind.ROOT):
        pages = {p for n in node.iter() for p in n.pages}
    if not pages:
        return ""
    ps = sorted(pages)
    return f" [p{ps[0]}]" if len(ps) == 1 else f" [p{ps[0]}-{ps[-1]}]"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHORT else text[: SHORT - 1] + "…"


def _label(node: CCNode) -> str:
    k = node.kind
    if k == NodeKind.ROOT:
        return f'document "{_short(node.title)}"{_pages(node)}'
    if k == NodeKind.SECTION:
        return f'section "{_short(node.title)}" (h{node.level}){_pages(node)}'
    if k == NodeKind.TABLE:
        rows = node.rows or []
        shape = f"{len(rows)}x{max((len(r) for r in rows), default=0)}"
        cap = f' "{_short(node.title)}"' if node.title else ""
        head = node.text.splitlines()[0] if node.text else ""
        return f"table {shape}{cap}{_pages(node)}: {_short(head)}"
    if k == NodeKind.KEY_VALUE_GROUP:
        items = "; ".join(f"{p.key}: {p.value}" for p in node.pairs or [])
        return f"key_value_group ({len(node.pairs or [])} pairs){_pages(node)}: {_short(items)}"
    if k == NodeKind.SUPPLEMENT:
        return f"supplement (furniture){_pages(node)}"
    n = len(node.element_ids)
    count = ""
    if k == NodeKind.LIST:
        count = f" ({n} items)"
    elif k == NodeKind.TEXT and n > 1:
        count = f" ({n} paragraphs)"
    elif k == NodeKind.FIGURE and node.title:
        count = f' "{_short(node.title)}"'
    return f'{k.value}{count}{_pages(node)}: "{_short(node.text)}"'


def to_tree(tree: CCNode) -> str:
    lines = [_label(tree)]
    stack: list[tuple[CCNode, str, bool]] = [
        (c, "", i == len(tree.children) - 1) for i, c in reversed(list(enumerate(tree.children)))
    ]
    while stack:
        node, prefix, last = stack.pop()
        lines.append(f"{prefix}{'└─ ' if last else '├─ '}{_label(node)}")
        child_prefix = prefix + ("   " if last else "│  ")
        kids = node.children
        stack.extend(
            (c, child_prefix, i == len(kids) - 1) for i, c in reversed(list(enumerate(kids)))
        )
    return "\n".join(lines) + "\n"
