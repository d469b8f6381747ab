"""archivist api."""
