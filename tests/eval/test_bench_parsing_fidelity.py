"""The parsing-fidelity benchmark's measures (``benchmarks/bench_parsing_fidelity.py``)."""

from __future__ import annotations

from benchmarks import bench_parsing_fidelity as bench


def test_words_fold_case_and_drop_punctuation():
    assert bench.words("Between 16 and 20 pages; 24-May-2017 (Vallecitos)") == [
        "between", "16", "and", "20", "pages", "24", "may", "2017", "vallecitos"]


def test_phrase_recall_sees_order_that_word_recall_misses():
    ref = bench.words("Tailoring and tuning of a small model")
    scrambled = bench.words("Tailoring and of a tuning model small")
    hit_w, n_w = bench.overlap(bench.ngrams(scrambled, 1), bench.ngrams(ref, 1))
    hit_p, n_p = bench.overlap(bench.ngrams(scrambled, 3), bench.ngrams(ref, 3))
    assert (hit_w, n_w) == (7, 7)
    assert (hit_p, n_p) == (0, 5)
    # counted with multiplicity: a repeated reference phrase needs to be repeated in ours
    ref2 = bench.ngrams(bench.words("a b c a b c"), 3)
    assert bench.overlap(bench.ngrams(bench.words("a b c"), 3), ref2) == (1, 4)


def test_skips_with_a_message_without_the_data(tmp_path, capsys):
    assert bench.main(["--data", str(tmp_path / "absent")]) is None
    assert "skipped" in capsys.readouterr().out
