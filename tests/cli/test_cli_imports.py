"""Starting the command is cheap: every ``archivist`` run (``convert`` on one file, ``--help``)
pays for what the command module imports, so the engines (PyMuPDF, LanceDB, onnxruntime,
torch), the orchestration and the eval harness load only in the commands that use them."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "pymupdf", "lancedb", "onnxruntime", "torch", "sentence_transformers", "prefect",
    "fastapi", "evals.collection", "evals.retrieval", "pipeline.ingest", "pipeline.convert",
)  # fmt: skip


def test_importing_the_command_loads_no_engine_and_no_harness() -> None:
    code = (
        "import json, sys\nimport cli.main\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
