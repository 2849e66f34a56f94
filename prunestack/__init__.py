"""prunestack: documents and web HTML in, schema-valid JSON out, on pruned language models.

The façade: the calls most users need, each a thin front for one area, cheap to import (nothing
heavy loads until a function is called, so every import below sits inside its function).

    import prunestack
    doc = prunestack.parse("invoice.pdf")                       # -> Document
    res = prunestack.extract("invoice.pdf", schema=Invoice)     # -> ExtractionResult (.data)
    ans = prunestack.ask("report.pdf", "Who wrote it?", budget=256)  # -> AskResult (.answer)
    page = prunestack.prune_html(html, "who won?", budget=256)  # -> PruneResult (.html)
    out = prunestack.generate_json(model, tok, schema, prompt)  # -> JsonResult (.data)
    rep = prunestack.prune_model("model/", "pruned/", method="flap", ratio=0.2)

A ``source`` is a path (``str`` or ``Path``), the file's bytes, or text: a one-line ``str`` whose
suffix is a document type (``.pdf``, ``.png``, ``.html``, ...) or that names an existing file is a
path (a missing one is an error, never parsed as text); any other ``str`` is HTML when it starts
with ``<``, else plain text (``prunestack.parsers.ingest.parse_source``). A ``schema`` is a dict,
a JSON string, a path, or a pydantic model class. The areas themselves live in
``prunestack.parsers``, ``prunestack.retrieval``, ``prunestack.pipeline`` (document, schema,
decoding, pruning, extract), ``prunestack.eval`` and ``prunestack.api``; errors in
``prunestack.errors``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prunestack.pipeline.ask import AskResult
    from prunestack.pipeline.decoding.generate import JsonResult
    from prunestack.pipeline.document import Document
    from prunestack.pipeline.extract import ExtractionResult
    from prunestack.pipeline.pruning.report import PruneReport
    from prunestack.retrieval.prune import PruneResult

__version__ = "0.1.0"
__all__ = ["__version__", "ask", "extract", "generate_json", "parse", "prune_html",
           "prune_model"]

Source = str | Path | bytes


def parse(source: Source, *, ocr: str = "auto", pages: str | None = None,
          name: str | None = None, force_ocr: bool = False) -> Document:
    """A typed :class:`~prunestack.pipeline.document.Document` (pages, elements with boxes in the
    original page's coordinates) from a PDF, an image, HTML or plain text.

    ``ocr``: auto | rapidocr | tesseract | paddleocr | rapidocr+tesseract; ``pages``: "1-3,5"
    (PDFs and TIFFs)."""
    from prunestack.parsers.ingest import parse_source

    return parse_source(source, ocr=ocr, pages=pages, name=name, force_ocr=force_ocr)


def extract(source: Source, schema: Any, *, engine: str = "extractive",
            model: str | Path | None = None, ocr: str = "auto", pages: str | None = None,
            encoder: str | Path | None = None, draft: str | Path | None = None,
            **options: Any) -> ExtractionResult:
    """JSON valid against ``schema`` from ``source``, with provenance for every value.

    ``engine``: "extractive" (MiniLM, offline default) or "generative" (``model``: a local causal
    LM folder, decoded under the schema; ``draft``: a smaller causal LM folder on the same
    vocabulary for speculative decoding). ``encoder``: a sentence encoder folder (e.g. a pruned
    MiniLM) instead of MiniLM. ``options``: fields of
    :class:`~prunestack.pipeline.extract.ExtractOptions` (``min_score``, ``fill_required``, ...).
    The result's ``.data`` validates against the schema; ``.missing`` lists what was not found."""
    from pydantic import ValidationError

    from prunestack.errors import ConfigError
    from prunestack.pipeline.extract import ExtractOptions, extract_parsed

    try:  # bad options fail before the document is parsed (OCR can take a while)
        opts = ExtractOptions(engine=engine, **options)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"extract option {'.'.join(map(str, err['loc']))}: {err['msg']}",
                          f"options are {', '.join(ExtractOptions.model_fields)}") from None
    return extract_parsed(lambda: parse(source, ocr=ocr, pages=pages), schema, options=opts,
                          model_dir=model, encoder_dir=encoder, draft_dir=draft)


def ask(source: Source, question: str, budget: int = 256, *, engine: str = "extractive",
        model: str | Path | None = None, encoder: str | Path | None = None,
        draft: str | Path | None = None, ocr: str = "auto", pages: str | None = None,
        index: str | Path | None = None) -> AskResult:
    """Evidence for ``question`` from ``source`` within ``budget`` words (in reading order, each
    with page, box, CCTree path and score) and an answer, as an
    :class:`~prunestack.pipeline.ask.AskResult` (``.answer``, ``.evidence``, ``.model_dump()``).

    Location questions ("top right of page 2") go through the page grid, others through hybrid
    BM25 + MiniLM ranking over the document's components. ``engine``: "extractive" (the
    shipped learned scorer picks a span of the evidence) or "generative" (``model``: a local
    causal LM folder answering under a JSON Schema). A document is parsed and indexed once per
    process: the next question on the same bytes reuses it. ``index``: a folder written by
    ``prunestack rag index``; when it holds these bytes (same hash, options, parser and encoder
    versions) the parsed document is read from it, in any process (``timings["index_hit"]``);
    otherwise the document is parsed (``index_miss`` / ``index_stale``)."""
    from prunestack.pipeline.ask import ask_source

    return ask_source(source, question, budget, engine=engine,  # type: ignore[arg-type]
                      model_dir=model, encoder_dir=encoder, draft_dir=draft, ocr=ocr,
                      pages=pages, index=index)


def prune_html(html: str | bytes, query: str, budget: int, *, pruner: str = "bm25",
               tokenizer: Any = None, **kw: Any) -> PruneResult:
    """Clean ``html``, split it into blocks and keep those most relevant to ``query`` within
    ``budget`` tokens (``tokenizer``: None = words of the text, or a tokenizer folder/object).

    ``pruner``: bm25 | embed | hybrid | auto | gen | two-step; ``kw`` goes to
    :func:`prunestack.retrieval.prune.prune_html` (``model``, ``encoder``, ``config``)."""
    from prunestack.retrieval.prune import prune_html as run

    return run(html, query, budget, pruner, tokenizer=tokenizer, **kw)


def generate_json(model: Any, tokenizer: Any, schema: Any, prompt: str,
                  **kw: Any) -> JsonResult:
    """Generate JSON that validates against ``schema`` with a loaded causal LM and tokenizer
    (constrained decoding; ``draft=`` a small model for speculative decoding, ``backend=``,
    ``max_new_tokens=``, ``temperature=``). The result's ``.data`` is the parsed value."""
    from prunestack.pipeline.decoding.generate import generate_json as run
    from prunestack.pipeline.schema import load_schema

    return run(model, tokenizer, prompt, load_schema(schema), **kw)


def prune_model(model_dir: str | Path, out_dir: str | Path, *, method: str = "flap",
                ratio: float = 0.2, recipe: Any = None, latency: bool = False,
                eval_seqlen: int = 128, **recipe_fields: Any) -> PruneReport:
    """Structurally prune the Hugging Face model folder ``model_dir`` and save a folder that
    reloads (``out_dir``), with a report: parameters before/after, held-out perplexity (or
    embedding cosine for encoders) and, with ``latency=True``, dense vs pruned speed.

    ``recipe``: a :class:`~prunestack.pipeline.pruning.PruneRecipe`, a dict or a YAML path;
    otherwise one is built from ``method``, ``ratio`` and ``recipe_fields`` (``nsamples``,
    ``seqlen``, ``allocation``, ``count``, ``calib``)."""
    from prunestack.pipeline.pruning import PruneRecipe
    from prunestack.pipeline.pruning.report import PruneReport
    from prunestack.pipeline.pruning.workflow import run_prune

    if recipe is None:
        rec = PruneRecipe.build(method=method, ratio=ratio, **recipe_fields)
    elif isinstance(recipe, PruneRecipe):
        rec = recipe
    elif isinstance(recipe, dict):
        rec = PruneRecipe.build(**recipe)
    else:
        rec = PruneRecipe.load(recipe)
    out = Path(out_dir)
    rep = run_prune(Path(model_dir), out, rec, eval_seqlen=eval_seqlen, latency=latency)
    return PruneReport(out=out, data=rep)
