"""archivist evals."""
