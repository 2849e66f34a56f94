"""Document + JSON Schema → schema-valid JSON with provenance (see :mod:`pipeline.extract.core`)."""

from prunestack.pipeline.extract.core import (
    ExtractionResult,
    ExtractOptions,
    MissingValue,
    Provenance,
    extract_document,
    extract_file,
    extract_html,
    extract_text,
    text_document,
)

__all__ = ["ExtractOptions", "ExtractionResult", "MissingValue", "Provenance",
           "extract_document", "extract_file", "extract_html", "extract_text",
           "text_document"]
