"""The answer to a question, taken from its evidence: extractive (learned scorer) or generative.

What it does:

- :func:`extractive_answer` rates spans of the evidence with the shipped learned field scorer
  (``pipeline.extract.scorer``, a fine-tuned MiniLM cross-encoder) with the question as the field's
  description: the candidates are the evidence lines that share most terms with the question
  and the line after each, their label-less variants ("Volume: 13" → "13") and the two-line
  spans around the best of them (a few dozen pairs: about a tenth of a second on a CPU core).
  The scorer reads layout too (position on the page, line kind, large type), which is why it was
  chosen over a plain text similarity; its weights were trained on receipts, so an answer is a
  printed line or span, not a phrase cut out of a sentence.
- :func:`generative_answer` asks a local causal LM for ``{"answer": string, "evidence_ids":
  [int]}`` under that JSON Schema (``pipeline.decoding.generate_json``, the constrained decoder
  the generative extraction engine uses), with the numbered evidence in the prompt (cut to the
  model's context); the answer's provenance is the first cited evidence that holds the answer
  text, else the first cited one.

Both return ``(answer, provenance)``; provenance names the evidence item (its index in the
result's ``evidence``), page, box and element. What it does not do: retrieve evidence
(``retrieval.evidence``), load models (the caller passes them; the registry owns them).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from prunestack.errors import DeadlineError
from prunestack.pipeline.document import Document, Page
from prunestack.pipeline.schema import FieldSpec
from prunestack.retrieval.bm25 import bm25_scores, tokenize
from prunestack.retrieval.evidence import Evidence

#: the JSON the generative engine writes (``maximum`` of evidence_ids is set per question)
MAX_ANSWER_CHARS = 160


def evidence_document(doc: Document, evidence: list[Evidence]) -> Document:
    """A document holding only the evidence: whole elements, or a window's text on a copy of
    the element it was cut from."""
    by_id = {e.id: e for e in doc.elements()}
    pages: dict[int, list[Any]] = {}
    for ev in evidence:
        els = [by_id[i] for i in ev.element_ids if i in by_id]
        if len(els) == 1 and " ".join(els[0].text.split()) != ev.text:
            els = [els[0].model_copy(update={"text": ev.text, "lines": None, "cells": None})]
        for e in els:
            pages.setdefault(e.page, []).append(e)
    sizes = {p.number: (p.width, p.height) for p in doc.pages}
    return Document(source_name=doc.source_name, mime_type=doc.mime_type, pages=[
        Page(number=n, width=sizes[n][0], height=sizes[n][1], elements=els)
        for n, els in sorted(pages.items())])


def _which(evidence: list[Evidence], element_id: str, text: str) -> int:
    for i, ev in enumerate(evidence):
        if element_id in ev.element_ids and (not text or text in ev.text):
            return i
    return next((i for i, ev in enumerate(evidence) if element_id in ev.element_ids), 0)


def extractive_answer(doc: Document, evidence: list[Evidence], question: str,
                      scorer: Any, max_lines: int = 6) -> tuple[str | None, dict[str, Any] | None]:
    """The evidence span the learned scorer rates highest for ``question``: candidates are the
    ``max_lines`` evidence lines sharing most terms with the question, the line after each
    (a value printed below its label), their label-less variants, and the two-line spans
    around the best matching line (a few dozen pairs, one or two scorer batches)."""
    from prunestack.pipeline.extract import scorer as S

    if not evidence:
        return None, None
    lines = S.doc_lines(evidence_document(doc, evidence))
    if not lines:
        return None, None
    qtok = tokenize(question)
    scores = bm25_scores(qtok, [tokenize(ln.text) for ln in lines])  # [L]
    best = [int(i) for i in np.argsort(-scores, kind="stable")[:max_lines]]
    picked = sorted({j for i in best for j in (i, i + 1) if j < len(lines)})
    cands: list[S.Cand] = []
    seen: set[tuple[int, int, str]] = set()
    for first, last in [(i, i) for i in picked] + \
            [(a, b) for a, b in ((best[0] - 1, best[0]), (best[0], best[0] + 1))
             if a >= 0 and b < len(lines) and lines[a].page == lines[b].page]:
        base = S.span(lines, first, last)
        for v in S.text_variants(base.printed):
            if (first, last, v) not in seen:
                seen.add((first, last, v))
                cands.append(S.Cand(v, v, first, last, base.bbox))
    spec = FieldSpec(path=("answer",), name="answer", description=question, type="string")
    sizes, body = S.page_sizes(doc), S.body_font_size(lines)
    texts = [S.pair_text(lines, c, sizes.get(lines[c.first].page, (1.0, 1.0)), body)
             for c in cands]
    logits = scorer.logits([S.field_text(spec)] * len(texts), texts)
    top = max(range(len(cands)), key=lambda i: logits[i])
    c = cands[top]
    ln = lines[c.first]
    text = " ".join(str(c.value).split())
    prob = 1.0 / (1.0 + math.exp(-logits[top]))
    return text, {"evidence": _which(evidence, ln.element_id, text), "page": ln.page,
                  "bbox": c.bbox.model_dump(), "element_id": ln.element_id,
                  "confidence": round(prob, 4)}


def answer_schema(n_evidence: int) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False,
            "required": ["answer", "evidence_ids"],
            "properties": {
                "answer": {"type": "string", "maxLength": MAX_ANSWER_CHARS},
                "evidence_ids": {"type": "array", "maxItems": 4, "items": {
                    "type": "integer", "minimum": 0, "maximum": max(0, n_evidence - 1)}}}}


def _context_tokens(model: Any) -> int:
    v = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    return v if isinstance(v, int) and v > 0 else 2048


def build_prompt(question: str, evidence: list[Evidence], tokenizer: Any, max_tokens: int) -> str:
    """Instructions, numbered evidence (cut to ``max_tokens`` tokens), the question."""
    head = ("Answer the question from the numbered evidence only. Reply with JSON: "
            '{"answer": the shortest phrase that answers, as printed, "evidence_ids": the '
            "numbers of the evidence used}.\n\nEvidence:\n")
    tail = f"\n\nQuestion: {question}\nJSON: "
    body = "\n".join(f"[{i}] {ev.text}" for i, ev in enumerate(evidence))
    room = max(16, max_tokens - len(tokenizer(head + tail, add_special_tokens=False)["input_ids"]))
    ids = tokenizer(body, add_special_tokens=False)["input_ids"]
    if len(ids) > room:
        body = tokenizer.decode(ids[:room], skip_special_tokens=True)
    return head + body + tail


def generative_answer(evidence: list[Evidence], question: str, model: Any, tokenizer: Any,
                      draft: Any = None, max_new_tokens: int = 160
                      ) -> tuple[str | None, dict[str, Any] | None, list[str]]:
    """(answer, provenance, warnings) from a causal LM decoding under :func:`answer_schema`."""
    from prunestack.pipeline.decoding.generate import generate_json  # imports torch: only here

    ctx = _context_tokens(model)
    max_new = min(max_new_tokens, max(32, ctx // 2))
    prompt = build_prompt(question, evidence, tokenizer, ctx - max_new - 8)
    try:
        out = generate_json(model, tokenizer, prompt, answer_schema(len(evidence)),
                            max_new_tokens=max_new, draft=draft)
    except DeadlineError as exc:
        return None, None, [f"generation: {exc}"]
    data = out.value if isinstance(out.value, dict) else {}
    answer = " ".join(str(data.get("answer", "")).split()) or None
    ids = [i for i in data.get("evidence_ids", []) if isinstance(i, int) and
           0 <= i < len(evidence)]
    if answer is None or not evidence:
        return answer, None, []
    holding = [i for i in ids if answer.lower() in evidence[i].text.lower()] or \
        [i for i, ev in enumerate(evidence) if answer.lower() in ev.text.lower()]
    if not (holding or ids):
        return answer, None, []
    at = (holding or ids)[0]
    ev = evidence[at]
    conf = 1.0 if holding else 0.5
    return answer, {"evidence": at, "page": ev.page, "bbox": ev.bbox.model_dump(),
                    "element_id": ev.element_ids[0] if ev.element_ids else None,
                    "confidence": conf}, []
