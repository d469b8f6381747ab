"""The ``archivist eval`` sub-command group, shared by the eval command modules.

Each eval module (conversion, retrieval and answers) imports ``eval_app`` from here and registers
its commands on it; ``cli.main`` imports those modules.
"""

from __future__ import annotations

import typer

from cli.app import app

eval_app = typer.Typer(help="Evaluate conversion and retrieval quality.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
