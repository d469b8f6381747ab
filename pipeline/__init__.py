"""archivist's core: convert, chunk, embed, store, retrieve, answer.

Importing this package is cheap: no model and no torch load until a stage needs them.
"""

__version__ = "0.1.0"
