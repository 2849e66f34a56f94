"""Which JSON Schema draft a schema is written in, and the ``jsonschema`` class for each draft.

What it does: maps a ``$schema`` URI to one of the drafts the package supports ("4", "6", "7",
"2019-09", "2020-12"; a URI naming none of them is a :class:`SchemaError`); reads the draft a
schema declares (none declared: 2020-12, what ``jsonschema.validate`` and pydantic assume); gives
the ``jsonschema`` validator class of a draft.

What it does not do: guess a draft from a schema's content (``load.check_metaschema`` does, for
an undeclared schema only Draft-7 can read) or build validators (:mod:`.validate`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from prunestack.errors import SchemaError

DRAFT7 = "http://json-schema.org/draft-07/schema#"
DRAFT2020 = "https://json-schema.org/draft/2020-12/schema"
DRAFT_URIS = {"4": "http://json-schema.org/draft-04/schema#",
              "6": "http://json-schema.org/draft-06/schema#", "7": DRAFT7,
              "2019-09": "https://json-schema.org/draft/2019-09/schema", "2020-12": DRAFT2020}
OLD_DRAFTS = ("4", "6", "7")  # a $ref's sibling keywords are ignored in these


#: the path of each draft's meta-schema on json-schema.org (hyper-schemas read as their draft)
_META_PATHS = {"draft-04": "4", "draft-06": "6", "draft-07": "7", "draft/2019-09": "2019-09",
               "draft/2020-12": "2020-12"}


@lru_cache(maxsize=64)
def meta_draft(uri: str) -> str:
    """The draft a ``$schema`` URI names; ``SchemaError`` for one that names none we know. Only
    json-schema.org's own meta-schema URIs count (``http`` or ``https``, with or without the
    trailing ``#``): a ``$schema`` is never fetched, so any other URL names nothing."""
    u = uri.strip().removesuffix("#").removesuffix("/")
    for scheme in ("http://json-schema.org/", "https://json-schema.org/"):
        if u.startswith(scheme):
            path = u.removeprefix(scheme)
            if path in ("schema", "draft/next/schema"):
                return "2020-12"
            head, _, leaf = path.rpartition("/")
            if leaf in ("schema", "hyper-schema") and head in _META_PATHS:
                return _META_PATHS[head]
    raise SchemaError(f"unsupported $schema {uri!r}: only json-schema.org's meta-schema URIs "
                      "name a draft (a $schema is never fetched)",
                      "use Draft-4/6/7, 2019-09 or 2020-12")


def declared_draft(schema: Any) -> str:
    """The draft ``schema`` declares in ``$schema``; 2020-12 when it declares none (a loaded
    schema always declares the draft it was read as)."""
    if isinstance(schema, dict) and "$schema" in schema:
        return meta_draft(str(schema["$schema"]))
    return "2020-12"


def validator_class(draft: str) -> Any:
    """The ``jsonschema`` validator class of ``draft``."""
    import jsonschema  # ~0.1 s: only when a schema is checked, not when the package is imported

    return {"4": jsonschema.Draft4Validator, "6": jsonschema.Draft6Validator,
            "7": jsonschema.Draft7Validator, "2019-09": jsonschema.Draft201909Validator,
            "2020-12": jsonschema.Draft202012Validator}[draft]
