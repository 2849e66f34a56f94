"""Document + JSON Schema → schema-valid JSON with provenance (see :mod:`pipeline.extract.core`)."""

from prunestack.pipeline.extract.core import (
    extract_document,
    extract_file,
    extract_html,
    extract_parsed,
    extract_text,
    text_document,
)
from prunestack.pipeline.extract.types import (
    ExtractionResult,
    ExtractOptions,
    MissingValue,
    PageInfo,
    Provenance,
)

__all__ = ["ExtractOptions", "ExtractionResult", "MissingValue", "PageInfo", "Provenance",
           "extract_document", "extract_file", "extract_html", "extract_parsed", "extract_text",
           "text_document"]
