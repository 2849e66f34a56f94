"""The shipped calibration corpus: present in the package, real English prose plus document-like
text, sources and licences stated, deterministic splits that do not overlap; the script that
builds it reads reStructuredText into prose paragraphs."""

from __future__ import annotations

import importlib.util
import json
import tomllib
from pathlib import Path

import pytest

from prunestack.errors import InputError
from prunestack.pipeline.pruning.calibration import CORPUS, builtin_corpus

REPO = Path(__file__).resolve().parents[2]


def test_corpus_is_a_few_mb_of_two_stated_sources():
    stats = json.loads((CORPUS / "stats.json").read_text())
    assert 2_000_000 < stats["uncompressed_bytes"] < 8_000_000
    prose = builtin_corpus("all", "django-docs")
    docs = builtin_corpus("all", "synthetic-documents")
    assert len(prose) == stats["prose_paragraphs"] and len(docs) == stats["documents"]
    assert sum(map(len, prose)) > 1_500_000
    assert sum(" the " in p for p in prose) > 0.7 * len(prose)  # English prose, not code
    assert all("\n" in d for d in docs[:50])  # document lines
    readme = (CORPUS / "README.md").read_text()
    for words in ("BSD-3-Clause", "Django Software Foundation", "Apache-2.0",
                  "scripts/build_calibration_corpus.py"):
        assert words in readme
    assert "Redistribution and use" in (CORPUS / "LICENSE-django-docs.txt").read_text()


def test_splits_partition_the_corpus_in_runs():
    calib, held, every = builtin_corpus("calib"), builtin_corpus("heldout"), builtin_corpus("all")
    assert len(calib) + len(held) == len(every)
    assert 0.08 < len(held) / len(every) < 0.12
    assert not set(held) & set(calib)
    assert builtin_corpus("calib") == calib  # deterministic
    with pytest.raises(InputError):
        builtin_corpus("train")


def test_corpus_ships_as_package_data():
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "corpora/calibration-en/*" in data["tool"]["setuptools"]["package-data"]["prunestack"]


def test_default_recipe_calibrates_on_the_corpus(tiny_llama_dir):
    from prunestack.pipeline.pruning import prune

    res = prune(tiny_llama_dir, {"method": "wanda-sp", "ratio": 0.2, "nsamples": 4,
                                 "seqlen": 32}, progress=False)
    assert res.stats["calibration"].startswith("built-in calibration-en corpus")
    assert res.stats["calibration"].endswith("4 x 32 tokens")


def test_build_script_reads_prose_out_of_restructuredtext():
    spec = importlib.util.spec_from_file_location(
        "build_calibration_corpus", REPO / "scripts" / "build_calibration_corpus.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rst = """\
=========
Templates
=========

Django's template engine provides a :doc:`powerful </topics/templates>` mini-language for
defining the user-facing layer of your application, with ``{{ variables }}`` and **tags**.

A template is rendered with a context::

    template.render({"name": "x"})

.. code-block:: python

    def f():
        return 1

* The :class:`~django.template.Context` class holds the
  variables.

.. note::

    Templates are cached by the `cached loader <https://example.org>`_.
"""
    paras = mod.rst_paragraphs(rst)
    assert paras == [
        "Django's template engine provides a powerful mini-language for defining the user-facing"
        " layer of your application, with {{ variables }} and tags.",
        "A template is rendered with a context:",
        "The Context class holds the variables.",
        "Templates are cached by the cached loader.",
    ]
