"""Property test: over 220 generated schemas, a tiny random-weight Llama with the real Mistral 32k
tokenizer produces JSON that parses and passes ``jsonschema`` validation (format checks on), or
the schema is refused up front with a SchemaError naming the keyword."""

from __future__ import annotations

import json

import jsonschema
import pytest

from prunestack.errors import SchemaError
from prunestack.pipeline.decoding import compile_schema, generate_json
from prunestack.pipeline.schema import prepare_schema
from tests.decoding.schema_gen import random_schema

N_SCHEMAS = 220


def _validate(schema, value):
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    cls(schema, format_checker=cls.FORMAT_CHECKER).validate(value)


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
    _validate(schema, json.loads(r.text))
    assert prepare_schema(schema)
