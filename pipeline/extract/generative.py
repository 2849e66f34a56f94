"""The generative engine: a local causal LM writes the JSON under a JSON-schema constraint.

The prompt is compact: the fields (name, type, description) and the document's most relevant
components (retrieval relevance summed over fields, in reading order) cut to fit the model's
context next to ``max_new_tokens``. Decoding goes through ``pipeline.decoding.generate_json``
(token masks from the compiled schema; speculative with a draft model when one is given). The
schema handed to the decoder is bounded (strings ≤ 64 characters, arrays ≤ 16 items unless the
schema says otherwise) so a weak model still closes its JSON within the token budget, and leaves
out the keywords no constraint backend enforces (``not``, ``if``/``then``/``else``,
``uniqueItems``, ``dependentRequired``...): the conform and repair steps of
:mod:`pipeline.extract.core` make the result satisfy them. Values are
grounded afterwards: a leaf whose value equals a candidate's parsed value (as printed for a
plain string field: ``extractive.field_value``) gets that candidate's page and box. The prompt
asks for string values as printed; the model's values are not rewritten. Coercion and validation
happen in :mod:`pipeline.extract.core`.
"""

from __future__ import annotations

import copy
from typing import Any

from prunestack.errors import ConfigError, DeadlineError, ModelError
from prunestack.pipeline.document import Document
from prunestack.pipeline.extract import values as V
from prunestack.pipeline.extract.candidates import from_document
from prunestack.pipeline.extract.extractive import parse_for, value_kind
from prunestack.pipeline.extract.types import Provenance
from prunestack.pipeline.schema import STANDARD, SUPPORTED, VALUE_KEYWORDS, FieldSpec

#: keywords the decoder (llguidance, the default backend and the widest) cannot enforce, read
#: from the one table of what each backend enforces; conform() and the repair step in
#: pipeline.extract.core make the generated data satisfy them afterwards
UNENFORCED = STANDARD - SUPPORTED["llguidance"]


def bounded_schema(schema: dict[str, Any], max_string: int = 64, max_items: int = 16
                   ) -> dict[str, Any]:
    """A copy of ``schema`` for the decoder: string/array lengths capped everywhere (``$defs``
    included; ``$ref``s are kept, so recursive schemas stay finite) and the keywords no backend
    enforces (:data:`UNENFORCED`) left out."""

    def walk(node: Any, depth: int) -> Any:
        if isinstance(node, list):
            return [walk(x, depth + 1) for x in node]
        if not isinstance(node, dict) or depth > 64:
            return node
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k in UNENFORCED:
                continue
            if k in VALUE_KEYWORDS:
                out[k] = v
            elif k in ("properties", "patternProperties", "$defs", "definitions") and \
                    isinstance(v, dict):
                out[k] = {name: walk(sub, depth + 1) for name, sub in v.items()}
            else:
                out[k] = walk(v, depth + 1)
        types = out.get("type")
        types = types if isinstance(types, list) else [types]
        if "string" in types and "enum" not in out and "format" not in out:
            out["maxLength"] = min(int(out.get("maxLength", max_string)), max_string)
        if "array" in types:
            out["maxItems"] = min(int(out.get("maxItems", max_items)), max_items)
        return out

    return walk(copy.deepcopy(schema), 0)


def build_prompt(doc: Document, fields: list[FieldSpec], relevance: dict[str, dict[str, float]],
                 tokenizer: Any, max_prompt_tokens: int, prompt_chars: int) -> str:
    lines = []
    for f in fields:
        typ = f"array of {f.item_type or 'objects'}" if f.type == "array" else \
            f"{f.type}, {f.format}" if f.format else f.type
        desc = f" — {f.description}" if f.description else ""
        lines.append(f"- {f.dotted} ({typ}){desc}")
        for it in f.items:
            idesc = f" — {it.description}" if it.description else ""
            lines.append(f"  - {it.name} ({it.type}){idesc}")
    intro = "Extract these fields from the document as JSON. Copy each string value as it is " \
        "printed (dates and amounts too, unless its type names a format). Use null when a " \
        "value is absent.\n"
    head = intro + "Fields:\n" + "\n".join(lines) + "\nDocument:\n"
    tail = "\nJSON:\n"
    if len(tokenizer(head + tail)["input_ids"]) > max_prompt_tokens // 2:
        # compact listing: names only (the decoder enforces types and structure anyway)
        names = [f.dotted + (f"[{', '.join(i.name for i in f.items)}]" if f.items else "")
                 for f in fields]
        head = intro + "Fields: " + "; ".join(names) + "\nDocument:\n"
    score: dict[str, float] = {}
    for rel in relevance.values():
        for eid, r in rel.items():
            score[eid] = score.get(eid, 0.0) + r
    elements = doc.elements()
    order = sorted(range(len(elements)), key=lambda i: -score.get(elements[i].id, 0.0))
    chosen: set[int] = set()
    used = 0
    for i in order:
        n = len(elements[i].text) + 1
        if used + n > prompt_chars:
            continue
        chosen.add(i)
        used += n
    body = "\n".join(elements[i].text for i in sorted(chosen) if elements[i].text.strip())
    budget = max_prompt_tokens - len(tokenizer(head + tail, add_special_tokens=True)["input_ids"])
    if budget <= 0:
        raise ConfigError("the schema alone does not fit the model's context",
                          "use a model with a longer context or a smaller schema")
    ids = tokenizer(body, add_special_tokens=False)["input_ids"]
    if len(ids) > budget:
        body = tokenizer.decode(ids[:budget], skip_special_tokens=True)
    return head + body + tail


def _context_length(model: Any) -> int:
    cfg = getattr(model, "config", None)
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length"):
        v = getattr(cfg, name, None)
        if isinstance(v, int) and v > 0:
            return v
    return 2048


def ground(data: Any, fields: list[FieldSpec], doc: Document) -> dict[str, Provenance]:
    """Provenance for generated leaves whose value matches a candidate's parsed value."""
    cands = from_document(doc)
    dayfirst = V.date_order_hint([e.text for e in doc.elements()])
    out: dict[str, Provenance] = {}

    def find(value: Any, kind: str, spec: FieldSpec | None) -> Provenance | None:
        if value is None or value == "":
            return None
        for c in cands:
            p = parse_for(kind, c.text, spec, dayfirst)
            if p is not None and (p.value == value or str(p.value).strip().lower()
                                  == str(value).strip().lower()):
                return Provenance(page=c.page, bbox=c.bbox, element_id=c.element_id,
                                  confidence=0.5 * c.confidence, text=p.span)
        return None

    def get(d: Any, path: tuple[str | int, ...]) -> Any:
        for part in path:  # names may contain dots: walk the tuple, not the dotted text
            if not isinstance(d, dict):
                return None
            d = d.get(part)
        return d

    for f in fields:
        v = get(data, f.path)
        if f.type == "array" and isinstance(v, list):
            for i, item in enumerate(v):
                if isinstance(item, dict):
                    for it in f.items:
                        pv = find(item.get(it.name), value_kind(it), it)
                        if pv:
                            out[f"{f.dotted}[{i}].{it.name}"] = pv
                else:
                    pv = find(item, value_kind(f), f)
                    if pv:
                        out[f"{f.dotted}[{i}]"] = pv
        elif f.type != "array":
            pv = find(v, value_kind(f), f)
            if pv:
                out[f.dotted] = pv
    return out


def run_generative(doc: Document, schema: dict[str, Any], fields: list[FieldSpec],
                   relevance: dict[str, dict[str, float]], model: Any, tokenizer: Any, *,
                   embedder: Any = None, draft_model: Any = None, max_new_tokens: int = 384,
                   prompt_chars: int = 3000, warnings: list[str] | None = None
                   ) -> tuple[Any, dict[str, Provenance]]:
    warnings = warnings if warnings is not None else []
    if tokenizer is None:
        raise ModelError("the generative engine needs the model's tokenizer")
    ctx = _context_length(model)
    max_new = min(max_new_tokens, max(16, ctx // 2))
    prompt = build_prompt(doc, fields, relevance, tokenizer, ctx - max_new, prompt_chars)
    from prunestack.pipeline.decoding.generate import generate_json  # imports torch: only here

    try:  # speculative (the draft proposes, the model verifies) when a draft model is given
        out = generate_json(model, tokenizer, prompt, bounded_schema(schema),
                            max_new_tokens=max_new, draft=draft_model)
    except DeadlineError as exc:
        # The model did not close its JSON within the budget: keep nothing it wrote; the
        # caller's conform step fills the schema and reports every value as missing.
        warnings.append(f"generation: {exc}")
        return {}, {}
    data = out.value if out.value is not None else {}  # not JSON: conform() fills what it can
    return data, ground(data, fields, doc)
