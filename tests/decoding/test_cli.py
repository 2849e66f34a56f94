"""`prunestack decode` and `prunestack draft trim` through the real typer app."""

from __future__ import annotations

import json

import jsonschema
import pytest
from typer.testing import CliRunner

from prunestack.api.cli import app
from prunestack.errors import ConfigError, SchemaError

SCHEMA = {"type": "object", "properties": {"city": {"enum": ["Paris", "Rome"]},
                                           "year": {"type": "integer", "minimum": 1900,
                                                    "maximum": 2100}},
          "required": ["city", "year"]}


@pytest.fixture()
def schema_file(tmp_path):
    p = tmp_path / "s.json"
    p.write_text(json.dumps(SCHEMA))
    return p


def _run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_decode_prints_valid_json(tiny_llama_dir, schema_file):
    r = _run("decode", "--model", tiny_llama_dir, "--schema", schema_file, "--prompt", "Where?",
             "--max-new-tokens", "32")
    assert r.exit_code == 0, r.output
    jsonschema.validate(json.loads(r.stdout.strip().splitlines()[0]), SCHEMA)


def test_decode_speculative_with_trimmed_draft(tiny_llama_dir, schema_file, tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(json.dumps({"response": json.dumps({"city": c, "year": y})})
                                for c in ("Paris", "Rome") for y in range(1990, 2030)))
    r = _run("draft", "trim", tiny_llama_dir, "--corpus", corpus, "--out", tmp_path / "d",
             "--min-coverage", "0.99", "--trials", "10")
    assert r.exit_code == 0, r.output
    assert "k=" in r.stdout and (tmp_path / "d" / "pareto.png").is_file()
    r = _run("decode", "--model", tiny_llama_dir, "--schema", schema_file, "--prompt", "Where?",
             "--draft", tmp_path / "d", "--max-new-tokens", "32")
    assert r.exit_code == 0, r.output
    jsonschema.validate(json.loads(r.stdout.strip().splitlines()[0]), SCHEMA)


def test_decode_bad_input(tiny_llama_dir, schema_file, tmp_path):
    r = _run("decode", "--model", tiny_llama_dir, "--schema", schema_file, "--prompt", "x",
             "--backend", "nope")
    assert isinstance(r.exception, ConfigError) and "unknown backend" in str(r.exception)
    r = _run("decode", "--model", tiny_llama_dir, "--schema", schema_file, "--prompt", "x",
             "--mode", "telepathy")
    assert isinstance(r.exception, ConfigError)
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "object", "properties": ')
    r = _run("decode", "--model", tiny_llama_dir, "--schema", bad, "--prompt", "x")
    assert isinstance(r.exception, SchemaError) and "not valid JSON" in str(r.exception)


def test_main_prints_one_line_error(tiny_llama_dir, schema_file, capsys, monkeypatch):
    import sys

    from prunestack.api import cli

    monkeypatch.setattr(sys, "argv", ["prunestack", "decode", "--model", str(tiny_llama_dir),
                                      "--schema", str(schema_file), "--prompt", "x",
                                      "--backend", "nope"])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: unknown backend")


def test_draft_trim_bad_options(tiny_llama_dir, tmp_path):
    r = _run("draft", "trim", tiny_llama_dir, "--corpus", tmp_path / "none.jsonl", "--out",
             tmp_path / "o", "--alpha", "2")
    assert isinstance(r.exception, ConfigError) and "alpha" in str(r.exception)


def test_decode_diffusion_mode(minilm_dir, tmp_path):
    """MiniLM's WordPiece vocabulary is uncased: the enum values are lower-case so it can spell
    them; capitalised ones are refused up front (next test)."""
    schema = json.loads(json.dumps(SCHEMA).replace("Paris", "paris").replace("Rome", "rome"))
    path = tmp_path / "lower.json"
    path.write_text(json.dumps(schema))
    r = _run("decode", "--model", minilm_dir, "--schema", path, "--prompt", "Where?",
             "--mode", "diffusion", "--max-new-tokens", "24")
    assert r.exit_code == 0, r.output
    jsonschema.validate(json.loads(r.stdout.strip().splitlines()[0]), schema)


def test_decode_diffusion_refuses_values_the_vocabulary_cannot_spell(minilm_dir, schema_file):
    r = _run("decode", "--model", minilm_dir, "--schema", schema_file, "--prompt", "Where?",
             "--mode", "diffusion", "--max-new-tokens", "24")
    assert r.exit_code != 0
    assert "can be written with this tokenizer" in str(r.exception)
    assert isinstance(r.exception, SchemaError)
