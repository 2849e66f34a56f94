"""Bytes in, ``Document`` out: PDF text layer, OCR, HTML; layout aggregation; the CCTree."""
