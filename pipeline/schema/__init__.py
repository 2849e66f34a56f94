"""JSON Schema, one package for everyone (layer 2): load, check, resolve, normalise, validate,
plan the fields to find and make data conform. Used by extraction, decoding and the API alike."""
