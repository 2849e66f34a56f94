"""JSON-schema-constrained decoding, speculative decoding and draft-vocabulary trimming.

Public entry points: :func:`compile_schema` (schema + tokenizer → :class:`Matcher`),
:class:`JsonSchemaLogitsProcessor` (for ``model.generate``), :func:`generate_json` (our own
gpt-fast-style loop with forced tokens), :func:`speculative_generate` (draft + target).
Imports are lazy so ``import pipeline.decoding`` stays cheap.
"""

from __future__ import annotations

from typing import Any

from prunestack.pipeline.decoding.types import Matcher

_LAZY = {
    "compile_schema": "prunestack.pipeline.decoding.backends",
    "TokenRejectedError": "prunestack.pipeline.decoding.backends",
    "JsonSchemaLogitsProcessor": "prunestack.pipeline.decoding.processor",
    "generate_json": "prunestack.pipeline.decoding.generate",
    "generate": "prunestack.pipeline.decoding.generate",
    "JsonResult": "prunestack.pipeline.decoding.generate",
    "speculative_generate": "prunestack.pipeline.decoding.speculative",
}

__all__ = ["Matcher", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
