"""archivist flows."""
