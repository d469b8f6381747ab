"""archivist connectors."""
