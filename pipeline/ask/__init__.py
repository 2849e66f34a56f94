"""Document + question → evidence within a word budget + an answer (:mod:`pipeline.ask.core`);
documents parsed once into a persistent index (:mod:`pipeline.ask.indexed`)."""

from prunestack.pipeline.ask.core import (
    AskResult,
    DocumentCache,
    EvidenceItem,
    ask_document,
    ask_source,
    document_cache,
    prepare_document,
)
from prunestack.pipeline.ask.indexed import build_index, query_index

__all__ = ["AskResult", "DocumentCache", "EvidenceItem", "ask_document", "ask_source",
           "build_index", "document_cache", "prepare_document", "query_index"]
