"""Document + question → evidence within a word budget + an answer (:mod:`pipeline.ask.core`)."""

from prunestack.pipeline.ask.core import (
    AskResult,
    DocumentCache,
    EvidenceItem,
    ask_document,
    ask_source,
    document_cache,
    prepare_document,
)

__all__ = ["AskResult", "DocumentCache", "EvidenceItem", "ask_document", "ask_source",
           "document_cache", "prepare_document"]
