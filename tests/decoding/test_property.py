"""Property tests over 220 generated schemas.

* ``prepare_schema`` keeps the schema's meaning: over the conformed instance of every schema and
  hundreds of mutants of it (values of the wrong type, out of bounds, keys dropped or added),
  ``jsonschema`` gives the prepared schema (objects left open) the same verdict as the user's
  original, and the closed form (what the decoder compiles) only ever narrows it.
* A tiny random-weight Llama with the real Mistral 32k tokenizer produces JSON that parses and
  passes ``jsonschema`` validation (format checks on), or the schema is refused up front with a
  SchemaError naming the keyword."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from prunestack.errors import SchemaError
from prunestack.pipeline.decoding import compile_schema, generate_json
from prunestack.pipeline.schema import conform, load_schema, prepare_schema
from tests.decoding.schema_gen import random_schema

N_SCHEMAS = 220
ODD_VALUES = (None, "x", "2024-13-45", -1, 10**6, 0.5, True, [], {})


def _validate(schema, value):
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    cls(schema, format_checker=cls.FORMAT_CHECKER).validate(value)


def _reference(schema):
    """``jsonschema`` for ``schema``'s draft, with every format it knows checked (the same
    checker for the original and the prepared schema, whose drafts differ)."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, format_checker=jsonschema.FormatChecker())


def _mutants(value, depth=0):
    """``value`` itself and variants one edit away: each key dropped, an extra key, each
    member (recursively, two levels) replaced by odd values or by its own mutants."""
    yield value
    if depth > 2:
        return
    if isinstance(value, dict):
        yield {**value, "zz_extra": 1}
        for k in value:
            yield {j: v for j, v in value.items() if j != k}
            for odd in ODD_VALUES:
                yield {**value, k: odd}
            for m in list(_mutants(value[k], depth + 1))[1:]:
                yield {**value, k: m}
    elif isinstance(value, list):
        yield []
        if value:
            yield [*value, copy.deepcopy(value[0])]
            for odd in ODD_VALUES:
                yield [odd, *value[1:]]
    else:
        yield from ODD_VALUES


def _all_required(node):
    """``node`` with every listed property required (an instance of it is one of ``node``)."""
    if isinstance(node, list):
        return [_all_required(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: v if k in ("enum", "const") else _all_required(v) for k, v in node.items()}
    if isinstance(node.get("properties"), dict):
        out["properties"] = {k: _all_required(v) for k, v in node["properties"].items()}
        out["required"] = list(node["properties"])
    return out


def test_prepared_schema_keeps_the_meaning_of_the_original():
    agree = accepted = rejected = narrowed = 0
    for seed in range(N_SCHEMAS):
        schema, _ = random_schema(seed)
        original = _reference(schema)
        loose = _reference(prepare_schema(schema))  # faithful: the same language
        strict = _reference(prepare_schema(schema, closed=True))
        sparse, _ = conform({}, load_schema(schema))  # required properties only
        full, _ = conform({}, load_schema(_all_required(schema)))  # every property present
        for inst in [*_mutants(sparse), *_mutants(full)]:
            want = original.is_valid(inst)
            assert loose.is_valid(inst) == want, (seed, schema, inst)
            if strict.is_valid(inst):
                assert want, (seed, schema, inst)  # closing objects only narrows
            elif want:
                narrowed += 1
            agree += 1
            accepted += want
            rejected += not want
    # not vacuous: both verdicts occur often, and closing objects does refuse extra keys
    assert agree > 18_000 and accepted > 2_700 and rejected > 15_000 and narrowed > 450, (
        agree, accepted, rejected, narrowed)


def test_generator_covers_the_features():
    text = json.dumps([random_schema(i)[0] for i in range(N_SCHEMAS)])
    for feature in ('"$ref"', '"anyOf"', '"format"', '"pattern"', '"minItems"', '"maxItems"',
                    '"minimum"', '"maximum"', '"enum"', '"const"', "draft-07", '"definitions"'):
        assert feature in text, feature
    assert sum(random_schema(i)[1] is not None for i in range(N_SCHEMAS)) >= 5


def test_every_schema_valid_or_refused(tok, target):
    generated = refused = 0
    failures = []
    for seed in range(N_SCHEMAS):
        schema, bad = random_schema(seed)
        if bad is not None:
            with pytest.raises(SchemaError, match=bad):
                compile_schema(schema, tok)
            refused += 1
            continue
        r = generate_json(target, tok, "Return JSON:", schema, max_new_tokens=96,
                          temperature=0.0 if seed % 2 else 1.0, seed=seed)
        try:
            _validate(schema, json.loads(r.text))
        except Exception as exc:  # collect all failures for one readable report
            failures.append((seed, r.text, str(exc)[:200]))
        assert r.valid == (not failures or failures[-1][0] != seed)
        generated += 1
    assert not failures, failures[:5]
    assert generated >= 200 and refused >= 5


@pytest.mark.parametrize("seed", range(1, N_SCHEMAS, 9))
def test_outlines_backend_on_the_schemas_it_accepts(tok, target, seed):
    schema, _ = random_schema(seed)
    try:
        compile_schema(schema, tok, backend="outlines")
    except SchemaError as exc:  # refused: the message names what outlines cannot enforce
        assert "unsupported keyword" in str(exc) or "outlines-core" in str(exc)
        return
    r = generate_json(target, tok, "Return JSON:", schema, backend="outlines",
                      max_new_tokens=96, seed=seed)
    assert r.backend == "outlines"
    value = json.loads(r.text)
    _validate(schema, value)
    assert _reference(prepare_schema(schema)).is_valid(value)  # what outlines compiled from
