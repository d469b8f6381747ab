"""OCR engines on a GPU machine: rapidocr on CUDA against the CPU-only fast engine and routed.

    pip install onnxruntime-gpu   # in place of onnxruntime, matching the machine's CUDA
    .venv/bin/python bench/ocr_gpu.py [--workers 2 4 8] [--out bench/results/ocr_gpu.json]

faster-paddle links its own ONNX Runtime, built for the CPU: the ``fast`` engine refuses
``ocr_device="cuda"``, and in ``routed`` only the second reading (rapidocr) moves to the GPU.
This script says which execution provider each engine ran on, then converts the noisy French
scans (``bench/noisy_scans.py``) with each engine and worker count: pages/s, CPU-s per page,
char accuracy, accent recall, lines read twice. It stops with a message where no GPU is visible.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.scan_quality import noisy_set, run_engine  # noqa: E402
from pipeline.errors import ConfigError  # noqa: E402
from pipeline.models import ConvertOptions  # noqa: E402
from pipeline.ocr import make_ocr_engine  # noqa: E402
from pipeline.ocr.rapid import cuda_available  # noqa: E402


def gpu_name() -> str:
    if shutil.which("nvidia-smi") is None:
        return "unknown (no nvidia-smi)"
    out = subprocess.run(
        ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or out.stderr.strip()


def providers() -> dict[str, object]:
    """Where each engine runs when asked for CUDA."""
    rapid = make_ocr_engine(ConvertOptions(engine="rapidocr", ocr_device="cuda"))
    routed = make_ocr_engine(ConvertOptions(engine="routed", ocr_device="cuda"))
    try:
        make_ocr_engine(ConvertOptions(engine="fast", ocr_device="cuda"))
        fast = "cuda accepted (unexpected)"
    except ConfigError as e:
        fast = f"refused: {e}"
    return {
        "rapidocr": rapid.providers,  # type: ignore[attr-defined]
        "routed_second_pass": routed.accurate.providers,  # type: ignore[attr-defined]
        "fast": fast,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "ocr_gpu.json")
    args = parser.parse_args()
    if not cuda_available():
        sys.exit("no CUDA GPU visible to onnxruntime: install onnxruntime-gpu on a GPU machine")
    report: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, GPU {gpu_name()}",
        "load_average_before": os.getloadavg(),
        "providers": providers(),
    }
    pdfs, truths = noisy_set()
    runs = []
    for workers in args.workers:
        for kind, device in (("rapidocr", "cuda"), ("routed", "cuda"), ("fast", "cpu")):
            opts = ConvertOptions(engine=kind, ocr_device=device, workers=workers)
            row = run_engine(kind, opts, pdfs, truths).row()
            row.update({"device": device, "workers": workers})
            runs.append(row)
            print(json.dumps(row), flush=True)
    report["runs"] = runs
    report["load_average_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(json.dumps(report["providers"], indent=2))


if __name__ == "__main__":
    main()
