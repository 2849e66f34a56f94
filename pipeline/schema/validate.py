"""THE validator factory: one way to check data against a schema, for extraction, decoding and
the API.

What it does: ``validator(schema)`` builds a ``jsonschema`` validator of the draft the schema
declares (none declared: 2020-12; a loaded schema always declares one), with formats checked,
every pattern run on RE2 in linear time (:mod:`.pattern_keywords`, never Python's ``re``),
the schema's numbers read as decimals, and a registry that never fetches
(:func:`.refs.no_io_registry`: a reference the document does not define is an error, never a
download or a file read); validate :func:`as_decimal` data with it. Decimals,
because ``jsonschema`` divides Python floats for ``multipleOf`` and rejects ``64.99`` as a
multiple of ``0.01`` (its maintainers' advice is to parse JSON with ``parse_float=Decimal``); a
decimal with no fraction (``2.0``) is an integer from Draft-6 on, as a float ``2.0`` is.
``validation_errors`` lists the errors as ``path: message``; ``fits`` checks one value against a
resolved sub-schema inside its root.

What it does not do: repair data (:mod:`.conform`) or check the schema itself (:mod:`.load`).
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import lru_cache
from typing import Any

from prunestack.errors import SchemaError
from prunestack.pipeline.schema.drafts import declared_draft, validator_class
from prunestack.pipeline.schema.pattern_keywords import format_checker, overrides
from prunestack.pipeline.schema.refs import no_io_registry


def as_decimal(data: Any) -> Any:
    """``data`` (an instance or a schema) with floats as ``Decimal``."""
    return json.loads(json.dumps(data), parse_float=Decimal)


def path_str(path: tuple[str | int, ...]) -> str:
    """A data path as text: ``("items", 0, "name")`` → ``items[0].name``."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


@lru_cache(maxsize=8)
def _decimal_class(draft: str) -> Any:
    """The draft's validator class with patterns on RE2 (:mod:`.pattern_keywords`); from
    Draft-6 on a whole decimal counts as an integer."""
    from jsonschema import validators  # ~0.1 s: only when data is validated

    cls = validator_class(draft)
    patterns = {"validators": overrides(draft),
                "format_checker": format_checker(cls.FORMAT_CHECKER)}
    if draft == "4":
        return validators.extend(cls, **patterns)

    def is_integer(checker: Any, instance: Any) -> bool:
        if isinstance(instance, Decimal):
            return instance.is_finite() and instance == instance.to_integral_value()
        return bool(cls.TYPE_CHECKER.is_type(instance, "integer"))

    return validators.extend(cls, type_checker=cls.TYPE_CHECKER.redefine("integer", is_integer),
                             **patterns)


def validator(schema: Any, draft_of: Any = None) -> Any:
    """A validator for ``schema`` (see the module docstring); its class is the one for the
    draft of ``draft_of`` (default: ``schema`` itself; pass the root for a sub-schema)."""
    draft = declared_draft(schema if draft_of is None else draft_of)
    cls = _decimal_class(draft)
    dec = as_decimal(schema)
    return cls(dec, format_checker=cls.FORMAT_CHECKER, registry=no_io_registry(dec, draft))


def validation_errors(data: Any, schema: dict[str, Any]) -> list[str]:
    """Every error of ``data`` against ``schema`` as ``path: message`` (``$`` for the root).
    A reference the schema does not resolve inside itself (a schema that did not go through
    ``load_schema``) is a ``SchemaError``, not a crash."""
    from referencing.exceptions import Unresolvable

    try:
        return [f"{path_str(tuple(e.absolute_path)) or '$'}: {e.message}"
                for e in validator(schema).iter_errors(as_decimal(data))]
    except Unresolvable as exc:
        raise SchemaError(f"a reference in the schema cannot be resolved inside it: {exc}",
                          "load the schema with load_schema, which names the reference"
                          ) from exc


def fits(value: Any, node: dict[str, Any], root: dict[str, Any]) -> bool:
    """Whether a value satisfies a (resolved) sub-schema of ``root``, formats included. A
    sub-schema that cannot be checked alone (it refers outside itself) fits: the final check of
    the whole document decides."""
    sub = dict(node)
    for key in ("$defs", "definitions"):
        if key in root and key not in sub:
            sub[key] = root[key]
    try:
        return bool(validator(sub, draft_of=root).is_valid(as_decimal(value)))
    except Exception:  # referencing's Unresolvable, jsonschema's SchemaError, LookupError...
        return True
