"""Synthetic documents with known ground truth: content, layout templates, scan degradation and
SOB-format records (:func:`eval.synth.generate.generate`)."""
