"""The model side and the orchestration: model loading, pruning, decoding, extraction."""
