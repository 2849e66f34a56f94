"""prunestack: documents and HTML in, schema-valid JSON out, on pruned language models.

This package holds only what every area shares (the error hierarchy, the version). The areas
themselves are the top-level packages ``parsers``, ``retrieval``, ``pipeline``, ``eval``, ``api``.
"""

__version__ = "0.1.0"
