"""Token text and the leaf-value matcher on real tokenizers (MiniLM WordPiece, Mistral
SentencePiece), and the schema skeleton."""

from __future__ import annotations

import pytest

from prunestack.errors import SchemaError
from prunestack.pipeline.decoding.diffusion import SlotSpec, build_skeleton
from prunestack.pipeline.decoding.diffusion_text import LeafMatcher, TokenTexts, is_leaf_schema
from prunestack.pipeline.decoding.types import Matcher


def _feed(m, tok, pieces):
    for p in pieces:
        m.advance(tok.convert_tokens_to_ids(p))


def test_wordpiece_joining_round_trips_json_values(minilm_tok, wp):
    assert wp.family == "wordpiece"
    for text in ['"new york"', "-2.5e3", "31", '"alice smith"', "true", '"san jose"']:
        ids = minilm_tok(text, add_special_tokens=False)["input_ids"]
        assert wp.join(ids) == text
    ids = minilm_tok("[CLS] 12", add_special_tokens=False)["input_ids"]
    assert wp.join(ids) == "12"  # special tokens never reach the text


def test_sentencepiece_family(mistral_tokenizer):
    tt = TokenTexts(mistral_tokenizer)
    assert tt.family == "metaspace"
    m = LeafMatcher({"type": "string"}, tt)
    for t in mistral_tokenizer('"alice smith"', add_special_tokens=False)["input_ids"]:
        m.advance(t)
    assert m.is_accepting() and m.text == '"alice smith"'


def test_leaf_matcher_is_a_matcher_and_tracks_the_value(minilm_tok, wp):
    m = LeafMatcher({"type": "string", "maxLength": 8}, wp)
    assert isinstance(m, Matcher)
    assert m.mask().shape == (len(minilm_tok),) and not m.is_accepting()
    _feed(m, minilm_tok, ['"', "new", "york"])
    assert m.text == '"new york' and not m.is_accepting()
    assert not m.mask()[minilm_tok.convert_tokens_to_ids("city")]  # would pass maxLength 8
    _feed(m, minilm_tok, ['"'])
    assert m.is_accepting() and int(m.mask().sum()) == 0
    m.rollback(2)
    assert m.text == '"new'
    with pytest.raises(SchemaError):
        m.advance(minilm_tok.convert_tokens_to_ids("[SEP]"))


def test_numbers_booleans_and_enums(minilm_tok, wp):
    m = LeafMatcher({"type": "number"}, wp)
    _feed(m, minilm_tok, ["-", "2", ".", "5", "##e", "##3"])
    assert m.text == "-2.5e3" and m.is_accepting()
    m = LeafMatcher({"type": "integer"}, wp)
    assert not m.mask()[minilm_tok.convert_tokens_to_ids(".")]
    assert not m.mask()[minilm_tok.convert_tokens_to_ids("alice")]
    _feed(m, minilm_tok, ["31"])
    assert m.is_accepting()
    assert not m.mask()[minilm_tok.convert_tokens_to_ids("5")]  # "31 5" is not a number
    assert m.mask()[minilm_tok.convert_tokens_to_ids("##5")]
    m = LeafMatcher({"type": "boolean"}, wp)
    allowed = {minilm_tok.convert_ids_to_tokens(i) for i in m.mask().nonzero().flatten().tolist()}
    assert {"true", "false"} <= allowed and "alice" not in allowed
    m = LeafMatcher({"enum": ["red", "dark blue", 3]}, wp)
    _feed(m, minilm_tok, ['"', "dark"])
    assert not m.is_accepting() and m.mask()[minilm_tok.convert_tokens_to_ids("blue")]
    _feed(m, minilm_tok, ["blue", '"'])
    assert m.is_accepting() and m.text == '"dark blue"'


def test_forced_tokens_and_leaf_detection(minilm_tok, wp):
    m = LeafMatcher({"const": "paris"}, wp)
    assert m.forced_tokens() == [minilm_tok.convert_tokens_to_ids('"')]
    assert is_leaf_schema({"type": "integer"}) and is_leaf_schema({"enum": [1, 2]})
    assert not is_leaf_schema({"type": "array"}) and not is_leaf_schema(
        {"type": "string", "pattern": "a+"})
    with pytest.raises(SchemaError, match="leaf"):
        LeafMatcher({"type": "array"}, wp)


def test_skeleton_has_keys_as_text_and_values_as_slots():
    schema = {"type": "object", "$defs": {"pt": {"type": "object", "properties": {
        "x": {"type": "number"}, "y": {"type": "number"}}}},
        "properties": {"id": {"const": 7}, "name": {"type": "string"}, "at": {"$ref": "#/$defs/pt"},
                       "tags": {"type": "array", "items": {"type": "string"}},
                       "kind": {"enum": ["a"]}}}
    sk = build_skeleton(schema)
    assert sk[0] == '{"id": 7, "name": '
    assert sk[1] == SlotSpec("$.name", {"type": "string"})
    assert sk[2] == ', "at": {"x": ' and sk[3].path == "$.at.x"
    assert sk[4] == ', "y": ' and sk[5].path == "$.at.y"
    assert sk[6] == '}, "tags": ' and sk[7].schema["type"] == "array"
    assert sk[8] == ', "kind": "a"}'
    with pytest.raises(SchemaError, match="ref"):
        build_skeleton({"$ref": "other.json#/x"})


def test_numeric_bounds_are_enforced_while_writing(minilm_tok, wp):
    ids = minilm_tok.convert_tokens_to_ids
    m = LeafMatcher({"type": "integer", "minimum": 1900, "maximum": 2100}, wp)
    assert m.mask()[ids("19")] and m.mask()[ids("2")]
    assert not m.mask()[ids("3")] and not m.mask()[ids("22")] and not m.mask()[ids("-")]
    _feed(m, minilm_tok, ["19"])
    assert not m.is_accepting()  # 19 is below the minimum
    _feed(m, minilm_tok, ["##90"])
    assert m.is_accepting() and m.text == "1990"
    assert not m.mask()[ids("##1")]  # 19901 is above the maximum
    m = LeafMatcher({"type": "integer", "exclusiveMinimum": -3, "exclusiveMaximum": 0}, wp)
    _feed(m, minilm_tok, ["-"])
    assert m.mask()[ids("2")] and not m.mask()[ids("3")] and not m.mask()[ids("0")]
    m = LeafMatcher({"type": "number", "minimum": 0, "maximum": 1}, wp)
    assert not m.mask()[ids("-")] and not m.mask()[ids("2")]
    _feed(m, minilm_tok, ["0", ".", "25"])
    assert m.is_accepting() and not m.mask()[ids("##e")]
    m = LeafMatcher({"type": "integer", "maximum": 5}, wp)  # one-sided bounds
    assert m.mask()[ids("-")] and m.mask()[ids("5")] and not m.mask()[ids("6")]


def test_enum_values_the_vocabulary_cannot_spell_are_refused(wp):
    with pytest.raises(SchemaError, match="can be written with this tokenizer"):
        LeafMatcher({"enum": ["Paris", "Rome"]}, wp)
    assert LeafMatcher({"enum": ["Paris", "rome"]}, wp).literals == ['"rome"']
