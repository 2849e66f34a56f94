"""Calibration text files: JSONL rows (text or instruction fields), blank-line paragraphs, and a
bad JSONL line named by file and line number."""

from __future__ import annotations

import pytest

from prunestack.errors import InputError
from prunestack.pipeline.pruning.calibration import read_texts


def test_jsonl_and_paragraphs(tmp_path):
    p = tmp_path / "calib.jsonl"
    p.write_text('{"text": "first doc"}\n\n{"prompt": "Q?", "response": "A."}\n"bare string"\n')
    assert [" ".join(t.split()) for t in read_texts(p)] == ["first doc", "Q? A.", "bare string"]
    t = tmp_path / "calib.txt"
    t.write_text("para one\n\npara two\n")
    assert read_texts(t) == ["para one", "para two"]


def test_bad_jsonl_line_is_named(tmp_path):
    p = tmp_path / "calib.jsonl"
    p.write_text('{"text": "ok"}\n{"text": \n')
    with pytest.raises(InputError, match=r"calib\.jsonl:2 is not valid JSON"):
        read_texts(p)
