"""SOB metrics against hand-computed values (every metric, gates, arrays of objects, nulls,
type mismatches, malformed responses)."""

from __future__ import annotations

import json
import math
import random

import pytest

from prunestack.eval.aggregate import build_summary, category_mean, summarize_rows, weighted_mean
from prunestack.eval.sob import (
    compute_coverage_gate,
    compute_required_key_recall,
    compute_type_precision,
    flatten_leaf_paths,
    normalize_tokens,
    parse_response,
    resolve_difficulty,
    schema_type_for_path,
    score_response,
    token_f1,
)

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "total": {"type": "number"},
        "paid": {"type": "boolean"},
        "note": {"type": ["string", "null"]},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}},
                "required": ["sku", "qty"],
            },
        },
    },
    "required": ["name", "total", "items"],
}
GT = {
    "name": "The Acme Company",
    "total": 12.5,
    "paid": True,
    "note": None,
    "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}],
}
GATED = ("leaf_value_em", "value_token_f1")
HARDENED = ("hier_path_recall", "path_set_f1", "type_precision")


def _pred(**changes):
    out = json.loads(json.dumps(GT))
    out.update(changes)
    return out


def test_flatten_paths():
    leaves = flatten_leaf_paths(GT)
    assert list(leaves) == [
        "name", "total", "paid", "note",
        "items[0].sku", "items[0].qty", "items[1].sku", "items[1].qty",
    ]
    assert flatten_leaf_paths({"a": {}, "b": [], "c": [[1]]}) == {"c[0][0]": 1}
    assert flatten_leaf_paths("scalar root") == {}


def test_perfect_response_null_leaf_type_quirk():
    row = score_response(json.dumps(GT), SCHEMA, GT)
    for key in ("json_parse_success", "json_root_structured", "schema_valid_input",
                "schema_compliance", "leaf_value_em", "value_token_f1", "hier_path_recall",
                "path_set_f1", "required_key_recall", "strict_json_em"):
        assert row[key] == 1.0, key
    # SOB normalises ["string", "null"] to "string", so a null leaf is a type mismatch: 7 of 8.
    assert row["type_precision"] == pytest.approx(7 / 8)
    assert row["missing_gt_paths"] == []


def test_partial_values_same_structure():
    pred = _pred(name="Acme Company", items=[{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 3}])
    row = score_response(json.dumps(pred), SCHEMA, GT)
    assert row["schema_compliance"] == 1.0
    assert row["leaf_value_em"] == pytest.approx(6 / 8)  # name and items[1].qty differ
    # name: "the acme company" → {acme, company} (article removed) = pred tokens → F1 1;
    # qty "1" vs "3" → 0; the other six leaves 1 → 7/8.
    assert row["value_token_f1"] == pytest.approx(7 / 8)
    assert row["hier_path_recall"] == 1.0
    assert row["path_set_f1"] == 1.0
    assert row["type_precision"] == pytest.approx(7 / 8)
    assert row["strict_json_em"] == 0.0


def test_missing_array_element_text_gate_and_image_gate():
    pred = _pred(items=[{"sku": "A-1", "qty": 2}])
    text = score_response(json.dumps(pred), SCHEMA, GT, "text")
    image = score_response(json.dumps(pred), SCHEMA, GT, "image")
    f1 = 2 * 1.0 * 0.75 / 1.75  # precision 6/6, recall 6/8 = 6/7
    assert text["path_set_f1"] == pytest.approx(f1)
    assert text["hier_path_recall"] == pytest.approx(0.75)
    assert text["leaf_value_em"] == 0.0 and text["value_token_f1"] == 0.0  # 6/7 < 0.95
    gate = (f1 / 0.9) ** 2  # = (20/21)^2 = 400/441
    assert gate == pytest.approx(400 / 441)
    assert image["leaf_value_em"] == pytest.approx(0.75 * 400 / 441)
    # The two missing leaves score token F1 0 against the prediction's "null".
    assert image["value_token_f1"] == pytest.approx(0.75 * 400 / 441)
    assert image["missing_gt_paths"] == ["items[1].qty", "items[1].sku"]
    assert text["required_key_recall"] == 1.0


def test_coverage_gate_values():
    assert compute_coverage_gate("text", 0.95) == 1.0
    assert compute_coverage_gate("text", 0.9499) == 0.0
    assert compute_coverage_gate("image", 0.45) == pytest.approx(0.25)
    assert compute_coverage_gate("audio", 0.95) == 1.0
    assert compute_coverage_gate("image", 0.0) == 0.0


def test_root_array_of_objects_extra_element():
    item = {"type": "object", "properties": {"a": {"type": "integer"}}}
    schema = {"type": "array", "items": item}
    gt = [{"a": 1}, {"a": 2}]
    pred = [{"a": 1}, {"a": 5}, {"a": 7}]
    row = score_response(json.dumps(pred), schema, gt, "image")
    assert row["hier_path_recall"] == 1.0
    assert row["path_set_f1"] == pytest.approx(0.8)  # p = 2/3, r = 1
    assert row["leaf_value_em"] == pytest.approx(0.5 * 64 / 81)  # gate (0.8/0.9)^2
    assert row["type_precision"] == 1.0
    assert score_response(json.dumps(pred), schema, gt, "text")["leaf_value_em"] == 0.0


def test_type_mismatch_fails_validation_and_hardening():
    pred = _pred(total="12.5", items=[{"sku": "A-1", "qty": "2"}, {"sku": "B-2", "qty": 1}])
    row = score_response(json.dumps(pred), SCHEMA, GT)
    assert (row["json_parse_success"], row["json_root_structured"]) == (1.0, 1.0)
    assert row["schema_compliance"] == 0.0
    for key in (*GATED, *HARDENED):
        assert row[key] == 0.0, key
    # Ungated: total and items[0].qty are strings, note is null → 5 of 8 leaves typed right.
    assert compute_type_precision(pred, SCHEMA) == pytest.approx(5 / 8)


def test_integer_accepted_for_number_and_numeric_equality():
    pred = _pred(total=12)
    gt = _pred(total=12.0)
    row = score_response(json.dumps(pred), SCHEMA, gt)
    assert row["leaf_value_em"] == 1.0  # 12 == 12.0, as Python's == in SOB
    assert row["type_precision"] == pytest.approx(7 / 8)
    assert row["strict_json_em"] == 0.0  # canonical "12" != "12.0"


def test_null_vs_string_null():
    pred = _pred(note="null")
    row = score_response(json.dumps(pred), SCHEMA, GT)
    assert row["leaf_value_em"] == pytest.approx(7 / 8)  # None != "null"
    assert row["value_token_f1"] == 1.0  # both normalise to the token "null"
    assert row["type_precision"] == 1.0  # now every leaf is of the schema type
    assert token_f1(None, None) == 1.0
    assert token_f1(True, "true") == 1.0
    assert token_f1("", "x") == 0.0
    assert token_f1("a", "") == 1.0  # "a" is an article: both sides are empty


@pytest.mark.parametrize(
    "response",
    ["not json at all", '"a JSON string"', "42", "null", "", "{broken", "[" * 5000, None, 3.5],
)
def test_malformed_responses_are_failures_not_crashes(response):
    row = score_response(response, SCHEMA, GT)
    assert row["json_parse_success"] == 0.0
    assert row["json_root_structured"] == 0.0
    for key in ("schema_compliance", *GATED, *HARDENED, "strict_json_em", "required_key_recall"):
        assert row[key] == 0.0, key
    assert row["missing_required_paths"] == ["name", "total", "items", "items[].sku",
                                             "items[].qty"]


def test_wrong_root_type_parses_but_fails():
    row = score_response("[1, 2]", SCHEMA, GT)
    assert row["json_parse_success"] == 1.0 and row["json_root_structured"] == 1.0
    assert row["schema_compliance"] == 0.0 and row["path_set_f1"] == 0.0


def test_json_inside_prose_is_extracted():
    ok, cand = parse_response("Sure! ```json\n" + json.dumps(GT) + "\n``` done")
    assert ok and cand == GT
    row = score_response("Here:\n" + json.dumps(GT), SCHEMA, GT)
    assert row["strict_json_em"] == 1.0


def test_invalid_schema_input_and_odd_schemas():
    row = score_response(json.dumps(GT), {"type": 5}, GT)
    assert row["schema_valid_input"] == 0.0 and row["schema_compliance"] == 0.0
    assert row["strict_json_em"] == 1.0  # Perfect Response is not gated
    assert schema_type_for_path({"type": "array", "items": [{"type": "string"}]}, "[0]") is None
    assert schema_type_for_path(SCHEMA, "items[x].sku") is None
    assert schema_type_for_path(SCHEMA, "items[3].qty") == "integer"
    bad_ref = {"type": "object", "properties": {"a": {"$ref": "#/definitions/missing"}}}
    assert score_response('{"a": 1}', bad_ref, {"a": 1})["schema_compliance"] == 0.0


def test_required_key_recall_partial():
    recall, missing = compute_required_key_recall({"name": "x"}, SCHEMA)
    assert recall == pytest.approx(1 / 5)
    assert missing == ["items", "items[].qty", "items[].sku", "total"]


def test_normalize_tokens():
    assert normalize_tokens("The U.S.-based firm, an LLC!") == ["u", "s", "based", "firm", "llc"]
    assert normalize_tokens(False) == ["false"]
    assert normalize_tokens(1.50) == ["1", "5"]


def test_resolve_difficulty_priority():
    assert resolve_difficulty("easy", "hard") == ("hard", "schema_complexity", 3.0)
    assert resolve_difficulty("medium", None) == ("medium", "difficulty", 2.0)
    assert resolve_difficulty("weird", "unknown") == ("unknown", "unknown", 0.0)


def _row(value: float, weight: float) -> dict:
    keys = ("json_parse_success", "json_root_structured", "schema_valid_input",
            "schema_compliance", "leaf_value_em", "value_token_f1", "hier_path_recall",
            "path_set_f1", "type_precision", "strict_json_em")
    row = dict.fromkeys(keys, value)
    row.update(difficulty_weight=weight, known_difficulty=1.0 if weight else 0.0,
               model_id="m", missing_gt_paths=[], missing_required_paths=[])
    return row


def test_weighted_mean_and_categories():
    rows = [_row(1.0, 1.0), _row(0.0, 3.0), _row(1.0, 0.0)]
    assert weighted_mean(rows, "leaf_value_em") == pytest.approx(0.25)
    rows[0]["value_token_f1"] = 0.5
    # Multi-Context Linking = mean(em, tok) per row: 0.75, 0, 1 → mean 0.58333
    assert category_mean(rows, ["leaf_value_em", "value_token_f1"], False) == pytest.approx(
        1.75 / 3)
    assert category_mean(rows, ["leaf_value_em", "value_token_f1"], True) == pytest.approx(
        0.75 / 4)


def test_bootstrap_matches_reference_resampling():
    rows = [_row(v, 1.0) for v in (0.0, 0.25, 0.5, 1.0, 1.0)]
    summ = summarize_rows(rows, samples=1000, seed=42)
    # Reference: the first metric is bootstrapped first from random.Random(42).
    rng = random.Random(42)
    est = sorted(
        sum(rows[rng.randrange(5)]["json_parse_success"] for _ in range(5)) / 5
        for _ in range(1000)
    )
    m = summ["metrics"]["json_parse_success"]
    assert m["mean"] == pytest.approx(0.55)
    assert (m["ci95_low"], m["ci95_high"]) == (est[math.floor(0.025 * 999)],
                                               est[math.ceil(0.975 * 999)])
    assert m["ci95_low"] <= m["mean"] <= m["ci95_high"]
    same = summarize_rows([_row(0.7, 2.0)] * 4, samples=50, weighted=True)
    assert same["metrics"]["leaf_value_em"] == {"mean": 0.7, "ci95_low": 0.7, "ci95_high": 0.7,
                                                "metric_name": "Truth Score"}
    assert same["difficulty_weights"] == {"easy": 1.0, "medium": 2.0, "hard": 3.0}


def test_summary_layout():
    rows = [_row(1.0, 1.0), _row(0.0, 2.0)]
    rows[1]["json_parse_success"] = 0.0
    s = build_summary(rows, response_file="r.jsonl", samples=10)
    assert set(s["summary"]) == {"overall", "overall_weighted"}
    for key in ("json_parse_success", "schema_compliance", "leaf_value_em", "value_token_f1",
                "hier_path_recall", "path_set_f1", "type_precision", "strict_json_em"):
        assert set(s["summary"]["overall"]["metrics"][key]) >= {"mean", "ci95_low", "ci95_high"}
    assert len(s["summary"]["overall"]["category_scores"]) == 5
    assert s["data_quality"]["json_parse_fail_count"] == 1
    assert s["summary"]["overall"]["n"] == 2


def test_already_extracted_string_is_a_failure():
    """SOB's own files store the provider's extraction; a string there means it failed."""
    text = json.dumps(GT)
    assert score_response(text, SCHEMA, GT)["json_parse_success"] == 1.0
    assert score_response(text, SCHEMA, GT, already_extracted=True)["json_parse_success"] == 0.0
    assert score_response(GT, SCHEMA, GT, already_extracted=True)["strict_json_em"] == 1.0


def test_nesting_beyond_the_recursion_limit_never_raises():
    for d in range(930, 1000, 7):  # JSON text: the parser's own limit applies
        row = score_response("[" * d + "]" * d, {"type": "array"}, [1])
        assert row["json_parse_success"] in (0.0, 1.0)
    deep: list = [1]
    for _ in range(5000):  # an already-parsed value deeper than the interpreter's stack
        deep = [deep]
    row = score_response(deep, {"type": "array"}, [1])
    assert row["json_parse_success"] == 0.0 and row["strict_json_em"] == 0.0
