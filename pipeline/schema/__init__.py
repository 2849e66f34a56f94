"""JSON Schema, one package for everyone (layer 2): used by extraction, decoding and the API alike.

One way in and one way to check, whatever the caller:

* :mod:`.load` — ``load_schema`` from a dict, JSON text or bytes, a path (unless
  ``allow_path=False``: the REST API) or a pydantic model class; draft detection, meta-schema,
  satisfiability and ``$ref`` checks; returns a :class:`LoadedSchema` naming its draft;
* :mod:`.limits` — ``SchemaLimits`` and ``check_limits``: size, depth, ``$ref`` expansion, enum,
  properties and stand-in limits, checked (without recursion) before anything else reads a schema;
* :mod:`.drafts` — ``$schema`` URIs and the ``jsonschema`` class of each draft;
* :mod:`.refs` — references resolved inside the document and never fetched (THE registry every
  validator gets), root pointers, inlining, and THE ``$ref``-sibling rule;
* :mod:`.normalize` — the decoder's form (``prepare_schema``: faithful, references kept;
  ``closed=True`` for generation), formats as patterns, hashing; :mod:`.rewrites` and
  :mod:`.negate` — exact rewrites of ``not``, dependencies, ``oneOf``, ``uniqueItems``;
  :mod:`.closing` — closed objects that never make a schema unsatisfiable;
* :mod:`.support` — what each decoding backend enforces, closing budgets;
* :mod:`.validate` — THE validator factory (draft-aware, formats checked, decimal numbers,
  patterns on RE2);
* :mod:`.regex` — THE way a user's pattern runs: ECMA-262 read, RE2 (linear time) compiled,
  backtracking-only features refused by name; :mod:`.pattern_keywords` plugs it into
  ``jsonschema``;
* :mod:`.nodes`, :mod:`.fields`, :mod:`.conform`, :mod:`.placeholders` — extraction's reading of
  sub-schemas, its field plan, and making data valid.

The modules import each other's public names only; callers import from this package.
"""

from prunestack.pipeline.schema.conform import coerce, conform, empty_value
from prunestack.pipeline.schema.drafts import (
    DRAFT2020,
    DRAFT_URIS,
    OLD_DRAFTS,
    declared_draft,
    meta_draft,
)
from prunestack.pipeline.schema.fields import (
    ISO_CURRENCIES,
    FieldSpec,
    humanize,
    plan_fields,
    require_object_root,
)
from prunestack.pipeline.schema.keywords import ANNOTATIONS, STANDARD, VALUE_KEYWORDS
from prunestack.pipeline.schema.limits import (
    DEFAULT_LIMITS,
    SchemaLimits,
    check_limits,
)
from prunestack.pipeline.schema.load import (
    LoadedSchema,
    SchemaSource,
    check_metaschema,
    check_satisfiable,
    load_schema,
)
from prunestack.pipeline.schema.normalize import (
    ASCII_FORMATS,
    close_objects,
    formats_as_patterns,
    prepare_schema,
    schema_hash,
)
from prunestack.pipeline.schema.refs import (
    OLD_DRAFT_REF_SIBLINGS,
    check_refs,
    kept_beside_ref,
    localize_refs,
    no_io_registry,
    resolve_pointer,
    resolve_refs,
)
from prunestack.pipeline.schema.support import SUPPORTED, closing_budget, unsupported_keywords
from prunestack.pipeline.schema.validate import (
    as_decimal,
    fits,
    path_str,
    validation_errors,
    validator,
)

__all__ = [
    "ANNOTATIONS", "ASCII_FORMATS", "DEFAULT_LIMITS", "DRAFT2020", "DRAFT_URIS", "ISO_CURRENCIES",
    "OLD_DRAFTS", "OLD_DRAFT_REF_SIBLINGS", "STANDARD", "SUPPORTED", "VALUE_KEYWORDS",
    "FieldSpec", "LoadedSchema", "SchemaLimits", "SchemaSource", "as_decimal", "check_limits",
    "check_metaschema", "check_refs",
    "check_satisfiable", "close_objects", "closing_budget", "coerce", "conform",
    "declared_draft", "empty_value", "fits", "formats_as_patterns", "humanize",
    "kept_beside_ref", "load_schema", "localize_refs", "meta_draft", "no_io_registry",
    "path_str", "plan_fields", "prepare_schema",
    "require_object_root", "resolve_pointer", "resolve_refs", "schema_hash",
    "unsupported_keywords", "validation_errors", "validator",
]
