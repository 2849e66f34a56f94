"""JSON-schema-constrained decoding, speculative decoding and draft-vocabulary trimming.

Public entry points: :func:`compile_schema` (schema + tokenizer → :class:`Matcher`),
:class:`JsonSchemaLogitsProcessor` (for ``model.generate``), :func:`generate_json` (our own
gpt-fast-style loop with forced tokens), :func:`speculative_generate` (draft + target).
The entry points load on first use (they import torch and the grammar backends), so
``import prunestack.pipeline.decoding`` stays cheap.
"""

from __future__ import annotations

from typing import Any

from prunestack.pipeline.decoding.types import Matcher

__all__ = ["JsonResult", "JsonSchemaLogitsProcessor", "Matcher", "TokenRejectedError",
           "compile_schema", "generate_json", "speculative_generate"]


def __getattr__(name: str) -> Any:
    # explicit imports (not a name -> module string map), so the layer test sees every arrow
    if name == "compile_schema":
        from prunestack.pipeline.decoding.backends import compile_schema

        return compile_schema
    if name == "TokenRejectedError":
        from prunestack.pipeline.decoding.backends import TokenRejectedError

        return TokenRejectedError
    if name == "JsonSchemaLogitsProcessor":
        from prunestack.pipeline.decoding.processor import JsonSchemaLogitsProcessor

        return JsonSchemaLogitsProcessor
    if name == "generate_json":
        from prunestack.pipeline.decoding.generate import generate_json

        return generate_json
    if name == "JsonResult":
        from prunestack.pipeline.decoding.generate import JsonResult

        return JsonResult
    if name == "speculative_generate":
        from prunestack.pipeline.decoding.speculative import speculative_generate

        return speculative_generate
    raise AttributeError(name)
