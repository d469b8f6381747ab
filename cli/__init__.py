"""archivist cli."""
