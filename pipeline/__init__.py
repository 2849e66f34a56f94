"""The model side and the orchestration: the document and schema types, pruning, decoding,
extraction. Importing this package loads nothing; import the subpackage you need."""
