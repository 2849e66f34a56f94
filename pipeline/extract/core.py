"""Document + JSON Schema → JSON valid against the schema, with provenance for every leaf.

``extract_document`` plans the schema's fields, builds the CCTree, runs question-type-aware
retrieval per field (not when the learned scorer picks the scalar fields: it reads the whole
page, and arrays never use the retrieval), hands the fields to an engine (extractive by default
— its scalar fields picked by rules, or by the learned field scorer with ``scorer="learned"`` —
generative with a local causal LM), then coerces everything to the schema, reports missing
required values and validates the result with ``jsonschema``. A tilted scan's page is read on
its levelled page, where its rows are level (``Document.levelled``), and provenance boxes go
back onto the page as scanned (``PageFrame.unlevel``). ``extract_file`` parses a PDF or image
first (``parsers.ingest``), ``extract_text`` and ``extract_html`` wrap plain text and HTML.
Everything returns an :class:`ExtractionResult`. The engines live in
:mod:`pipeline.extract.extractive` and :mod:`pipeline.extract.generative`; this module only
orchestrates and times them. The CCTree comes from ``parsers.cctree``, the per-field retrieval
from ``retrieval.document``; the result and option types live in :mod:`pipeline.extract.types`,
so the engines never import this module.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prunestack.cancel import checked, checkpoint
from prunestack.errors import ConfigError, InputError, ModelError
from prunestack.models import registry
from prunestack.parsers.cctree import build_cctree
from prunestack.parsers.html import parse_html
from prunestack.parsers.ingest import parse
from prunestack.parsers.text import text_document
from prunestack.pipeline.document import Document
from prunestack.pipeline.extract.candidates import from_document
from prunestack.pipeline.extract.extractive import ExtractiveEngine, parties
from prunestack.pipeline.extract.generative import run_generative
from prunestack.pipeline.extract.receipt import missing_date, receipt_fields, till_receipt
from prunestack.pipeline.extract.scorer import load_scorer
from prunestack.pipeline.extract.types import (
    Engine,
    ExtractionResult,
    ExtractOptions,
    Leaf,
    MissingValue,
    PageInfo,
    Provenance,
)
from prunestack.pipeline.schema import (
    FieldSpec,
    SchemaSource,
    as_decimal,
    conform,
    empty_value,
    load_schema,
    path_str,
    plan_fields,
    require_object_root,
    validation_errors,
    validator,
)
from prunestack.retrieval.document import retrieve


def _set(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    """Set a value at a property path (a tuple: property names may contain dots)."""
    for p in path[:-1]:
        data = data.setdefault(str(p), {})
    data[str(path[-1])] = value


def _prov(leaf: Leaf) -> Provenance:
    return Provenance(page=leaf.page, bbox=leaf.bbox, element_id=leaf.element_id,
                      confidence=max(0.0, min(1.0, leaf.confidence)), text=leaf.text)


def _on_page(p: Provenance, doc: Document) -> Provenance:
    """``p`` with its box back on the page: a tilted scan is read levelled (``levelled``)."""
    page = next((pg for pg in doc.pages if pg.number == p.page), None)
    if page is None or page.frame is None or not page.levelled:
        return p
    return p.model_copy(update={"bbox": page.frame.unlevel(p.bbox)})


def _assemble(fields: list[FieldSpec], scalars: dict[str, Leaf],
              arrays: dict[str, list[Any]]) -> tuple[dict[str, Any], dict[str, Provenance]]:
    data: dict[str, Any] = {}
    prov: dict[str, Provenance] = {}
    for f in fields:
        key = f.dotted
        if f.type == "array":
            items = arrays.get(key, [])
            vals = []
            for i, it in enumerate(items):
                if isinstance(it, dict):
                    vals.append({k: leaf.value for k, leaf in it.items()})
                    for k, leaf in it.items():
                        prov[f"{key}[{i}].{k}"] = _prov(leaf)
                else:
                    vals.append(it.value)
                    prov[f"{key}[{i}]"] = _prov(it)
            _set(data, f.path, vals)
        elif key in scalars:
            _set(data, f.path, scalars[key].value)
            prov[key] = _prov(scalars[key])
    return data, prov


def _finish(raw: Any, prov: dict[str, Provenance], schema: dict[str, Any], engine: str,
            doc: Document, opts: ExtractOptions, timings: dict[str, float]) -> ExtractionResult:
    t = time.perf_counter()
    data, missing = conform(raw, schema, fill_required=opts.fill_required)
    checkpoint("validation")
    errors = validation_errors(data, schema)
    if errors and opts.fill_required:
        # Values that broke a constraint (pattern, bounds...): drop them and conform again.
        added: list[str] = []
        data = _drop_invalid(data, schema, added)
        data, missing2 = conform(data, schema, fill_required=True)
        missing += [m for m in missing2 if m not in missing]
        missing += [{"path": p, "reason": "required by another value (dependentRequired)",
                     "action": "filled with a placeholder value"} for p in added]
        errors = validation_errors(data, schema)
    kept = _leaf_paths(data)
    prov = {k: v for k, v in prov.items() if k in kept}
    filled = {m["path"] for m in missing}
    prov = {k: _on_page(v, doc) for k, v in prov.items() if k not in filled}
    timings["validate"] = time.perf_counter() - t
    return ExtractionResult(
        data=data, provenance=prov, missing=[MissingValue(**m) for m in missing],
        valid=not errors, errors=errors, engine=engine,
        pages=[PageInfo(number=p.number, width=p.width, height=p.height) for p in doc.pages],
        timings={k: round(v, 4) for k, v in timings.items()})


def _drop_invalid(data: Any, schema: dict[str, Any], added: list[str] | None = None) -> Any:
    """Remove the values that break a constraint: first each failing leaf, then, for errors
    about an object as a whole (``if``/``then``/``else``, ``not``, ``dependentRequired``,
    ``oneOf``), the key whose removal leaves the fewest errors, while that helps."""
    check = validator(schema)

    def errors_of(d: Any) -> list[Any]:
        return list(check.iter_errors(as_decimal(d)))

    for err in sorted(errors_of(data), key=lambda e: -len(e.absolute_path)):
        path = list(err.absolute_path)
        if not path:
            continue
        parent = data
        try:
            for p in path[:-1]:
                parent = parent[p]
            if isinstance(parent, dict):
                parent.pop(path[-1], None)
            elif isinstance(parent, list) and isinstance(path[-1], int) and \
                    path[-1] < len(parent):
                parent[path[-1]] = None
        except (KeyError, IndexError, TypeError):
            continue
    for _ in range(32):
        checkpoint("repair")
        errs = errors_of(data)
        if not errs:
            break
        best: tuple[int, list[Any], Any] | None = None
        for err in errs:
            path = list(err.absolute_path)
            holder = _at(data, path)
            if not isinstance(holder, dict):
                continue
            for action in _repairs(err, holder, schema):
                checkpoint("repair")  # each trial validates a copy of the whole result
                trial = copy.deepcopy(data)
                action(_at(trial, path))
                n = len(errors_of(trial))
                if n < len(errs) and (best is None or n < best[0]):
                    best = (n, path, action)
        if best is None:
            break
        note = best[2](_at(data, best[1]))
        if isinstance(note, str) and added is not None:  # a stand-in was added: report it
            added.append(path_str((*best[1], note)))
    return data


def _repairs(err: Any, holder: dict[str, Any], schema: dict[str, Any]) -> list[Any]:
    """Edits that may fix an error about a whole object: drop one key, or add a stand-in for a
    property a present key depends on (``dependentRequired``)."""
    def drop(h: dict[str, Any], k: str) -> None:
        h.pop(k, None)

    def add(h: dict[str, Any], n: str, v: Any) -> str:
        h.setdefault(n, v)
        return n

    out: list[Any] = [lambda h, k=k: drop(h, k) for k in list(holder)]
    if err.validator in ("dependentRequired", "dependencies") and \
            isinstance(err.validator_value, dict):
        props = err.schema.get("properties", {}) if isinstance(err.schema, dict) else {}
        for key, deps in err.validator_value.items():
            if key in holder and isinstance(deps, list):
                for name in deps:
                    if name not in holder:
                        value = empty_value(props.get(name, {}), schema)
                        out.append(lambda h, n=name, v=value: add(h, n, v))
    return out


def _at(data: Any, path: list[Any]) -> Any:
    for p in path:
        try:
            data = data[p]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _leaf_paths(data: Any, prefix: tuple = ()) -> set[str]:
    out: set[str] = set()
    if isinstance(data, dict):
        for k, v in data.items():
            out |= _leaf_paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out |= _leaf_paths(v, (*prefix, i))
    elif prefix:
        out.add(path_str(prefix))
    return out


def extract_document(doc: Document, schema: SchemaSource, engine: Engine | None = None,
                     options: ExtractOptions | None = None, *, embedder: Any = None,
                     model: Any = None, tokenizer: Any = None, model_dir: str | Path | None = None,
                     draft_model: Any = None, encoder_dir: str | Path | None = None,
                     draft_dir: str | Path | None = None) -> ExtractionResult:
    """Extract ``schema``'s fields from a parsed document.

    ``schema``: anything :func:`~prunestack.pipeline.schema.load_schema` takes (a schema it
    already loaded is not checked again). ``embedder`` defaults to the registry's encoder of
    ``encoder_dir`` (MiniLM when None; a pruned MiniLM folder works the same), one per process
    (``prunestack.models``). The generative engine takes an already loaded ``model`` +
    ``tokenizer`` (the API loads them at start-up) or a ``model_dir`` (the registry's shared
    copy), and decodes speculatively with a ``draft_model`` or the registry's copy of
    ``draft_dir`` (a causal LM folder on the model's vocabulary: a pruned or trimmed draft)."""
    opts = options or ExtractOptions()
    if engine is not None:
        opts = opts.model_copy(update={"engine": engine})
    if (draft_model is not None or draft_dir is not None) and opts.engine != "generative":
        raise ConfigError("a draft model only applies to the generative engine",
                          "add --engine generative --model DIR, or drop --draft")
    schema = load_schema(schema)
    require_object_root(schema)
    if not doc.pages or not any(p.elements for p in doc.pages):
        raise InputError("the document has no readable content",
                         "is it blank, or a scan that OCR could not read?")
    # rows of a tilted scan are level on its levelled page: extract there, box back in _finish
    doc = doc.levelled()
    timings: dict[str, float] = {}
    warnings: list[str] = []
    t0 = time.perf_counter()
    fields = plan_fields(schema)
    embedder = embedder or registry().encoder(encoder_dir)
    # the learned scorer reads the scalar fields from the whole page and arrays never read the
    # relevance: the tree and the retrieval (one MiniLM pass per field) would be thrown away
    scored = opts.engine == "extractive" and learned_scorer(opts, doc)
    tree = None if scored else build_cctree(doc)
    timings["tree"] = time.perf_counter() - t0

    t = time.perf_counter()
    relevance: dict[str, dict[str, float]] = {}
    restrict: dict[str, set[str]] = {}
    if tree is not None:
        for f in checked(fields, "retrieval"):
            q, rel = retrieve(doc, tree, f.descriptor(), embedder)
            relevance[f.dotted] = rel
            if q.kind == "location":
                restrict[f.dotted] = set(rel)
    timings["retrieve"] = time.perf_counter() - t

    checkpoint("extraction")  # a cancelled API request stops here (prunestack.cancel)
    t = time.perf_counter()
    if opts.engine == "extractive":
        raw, prov = _run_extractive(doc, fields, relevance, restrict, embedder, opts)
    elif opts.engine == "generative":
        if model is None:
            if model_dir is None:
                raise ConfigError("the generative engine needs a model",
                                  "pass --model DIR (a local Hugging Face causal LM folder)")
            model, tokenizer = registry().causal_lm(model_dir), registry().tokenizer(model_dir)
        if draft_model is None and draft_dir is not None:
            draft_model = registry().causal_lm(draft_dir)
        if draft_model is not None:
            check_draft(model, draft_model)
        raw, prov = run_generative(doc, schema, fields, relevance, model, tokenizer,
                                   embedder=embedder, draft_model=draft_model,
                                   max_new_tokens=opts.max_new_tokens,
                                   prompt_chars=opts.prompt_chars, warnings=warnings)
    else:  # pydantic already restricts this; kept for callers passing dicts
        raise ConfigError(f"unknown engine {opts.engine!r}", "extractive or generative")
    timings["extract"] = time.perf_counter() - t
    result = _finish(raw, prov, schema, opts.engine, doc, opts, timings)
    result.warnings = warnings
    result.timings["total"] = round(time.perf_counter() - t0 + timings.get("parse", 0.0), 4)
    return result


def check_draft(model: Any, draft: Any) -> None:
    """ModelError unless ``draft`` scores the same vocabulary as ``model`` (speculative decoding
    compares token ids; a trimmed draft keeps the full vocabulary size)."""
    want = getattr(model.config, "vocab_size", None)
    got = getattr(draft.config, "vocab_size", None)
    if want != got:
        raise ModelError(f"the draft model has a vocabulary of {got} tokens, the model {want}",
                         "use a draft pruned or trimmed from a model with the same tokenizer")


def _run_extractive(doc: Document, fields: list[FieldSpec], relevance: dict, restrict: dict,
                    embedder: Any, opts: ExtractOptions) -> tuple[dict, dict]:
    eng = ExtractiveEngine(embedder, min_score=opts.min_score)
    cands = from_document(doc)
    checkpoint("extraction")
    if learned_scorer(opts, doc):  # the learned scorer picks every scalar field; arrays: rules
        scalars = load_scorer(opts.scorer_model).extract(
            doc, [f for f in fields if f.type not in ("array", "object")])
        return _assemble(fields, scalars, _arrays(eng, doc, fields, cands))
    grouped = eng.address_groups(fields, cands)
    grouped.update(parties(fields, cands, grouped))
    grouped.update(receipt_fields(doc, [f for f in fields if f.dotted not in grouped]))
    scalar_fields = [f for f in fields if f.type != "array" and f.dotted not in grouped]
    scalars = eng.scalars(doc, scalar_fields, relevance, restrict, cands)
    scalars.update({k: v for k, v in grouped.items()
                    if any(f.dotted == k for f in fields)})
    scalars.update(missing_date(doc, fields, scalars))
    return _assemble(fields, scalars, _arrays(eng, doc, fields, cands))


def learned_scorer(opts: ExtractOptions, doc: Document) -> bool:
    """Whether the learned field scorer picks the scalar fields: ``learned``, or ``auto`` on a
    till receipt (``receipt.till_receipt``) or with a scorer folder given. Measured: on real
    receipts the shipped scorer beats the rules (SROIE gold lines 0.59 → 0.76 mean field
    accuracy), on the generated invoices the rules stay ahead (`python -m benchmarks.run_all
    extract receipts_real`)."""
    if opts.scorer == "auto":
        return opts.scorer_model is not None or till_receipt(doc)
    return opts.scorer == "learned"


def _arrays(eng: ExtractiveEngine, doc: Document, fields: list[FieldSpec], cands: Any
            ) -> dict[str, list[Any]]:
    """Every array field: rows of objects, or a list of scalars."""
    return {f.dotted: eng.array_of_objects(doc, f) if f.items else
            eng.array_of_scalars(doc, f, cands)
            for f in checked(fields, "extraction") if f.type == "array"}


def extract_file(path: str | Path, schema: SchemaSource,
                 engine: Engine = "extractive", model_dir: str | Path | None = None, *,
                 ocr: str = "auto", pages: str | None = None,
                 options: ExtractOptions | None = None, **kw: Any) -> ExtractionResult:
    """Parse a PDF, image or HTML file and extract ``schema`` from it."""
    return extract_parsed(lambda: parse(path, ocr=ocr, pages=pages), schema, engine, options,
                          model_dir=model_dir, **kw)


def extract_parsed(read: Callable[[], Document], schema: SchemaSource,
                   engine: Engine | None = None, options: ExtractOptions | None = None,
                   **kw: Any) -> ExtractionResult:
    """Check ``schema`` first (a bad one fails before any parsing), then ``read()`` the document
    (timed as ``parse``) and extract from it."""
    schema = load_schema(schema)
    require_object_root(schema)
    t = time.perf_counter()
    doc = read()
    parse_s = time.perf_counter() - t
    res = extract_document(doc, schema, engine, options, **kw)
    res.timings["parse"] = round(parse_s, 4)
    res.timings["total"] = round(res.timings.get("total", 0.0) + parse_s, 4)
    return res


def extract_text(text: str, schema: SchemaSource, engine: Engine = "extractive",
                 **kw: Any) -> ExtractionResult:
    return extract_document(text_document(text), schema, engine, **kw)


def extract_html(html: str | bytes, schema: SchemaSource, engine: Engine = "extractive",
                 **kw: Any) -> ExtractionResult:
    # text is taken as decoded (its own <meta charset> does not re-decode it); bytes are sniffed
    return extract_document(parse_html(html), schema, engine, **kw)
