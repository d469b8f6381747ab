"""Options shared by ``archivist convert`` and ``archivist eval convert``: how pages are read.

The VLM server can also come from the environment (``ARCHIVIST_VLM_BASE_URL``,
``ARCHIVIST_VLM_MODEL``, ``ARCHIVIST_VLM_API_KEY``), like the answer LLM's settings.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from pipeline.models import ConvertOptions, VlmOptions

OcrOpt = Annotated[
    str,
    typer.Option(
        "--ocr",
        help="auto: OCR only pages without a good text layer; always; never.",
        case_sensitive=False,
    ),
]
EngineOpt = Annotated[
    str, typer.Option("--engine", help="OCR engine: rapidocr (default), tesseract or vlm.")
]
DpiOpt = Annotated[int, typer.Option("--dpi", min=50, max=600, help="Render resolution for OCR.")]
WorkersOpt = Annotated[int, typer.Option("--workers", min=1, max=64, help="Pages OCR'd at once.")]
PrecisionOpt = Annotated[
    str,
    typer.Option(
        "--ocr-precision",
        help="rapidocr recogniser: fp32, or int8 (about 1.5x faster on CPU; needs onnx; "
        "quantised once on first use).",
    ),
]
VlmUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--vlm-url", help="OpenAI-compatible base URL for --engine vlm (…/v1).", show_default=False
    ),
]
VlmModelOpt = Annotated[
    str | None,
    typer.Option("--vlm-model", help="Model name the VLM server serves.", show_default=False),
]


def convert_options(
    ocr: str = "auto",
    engine: str = "rapidocr",
    dpi: int = 150,
    workers: int = 2,
    vlm_url: str | None = None,
    vlm_model: str | None = None,
    precision: str = "fp32",
) -> ConvertOptions:
    """``ConvertOptions`` from the flags, the VLM server from flags or ``ARCHIVIST_VLM_*``."""
    ocr = ocr.lower()
    if ocr not in ("auto", "always", "never"):
        raise typer.BadParameter("must be auto, always or never", param_hint="--ocr")
    if precision not in ("fp32", "int8"):
        raise typer.BadParameter("must be fp32 or int8", param_hint="--ocr-precision")
    from pipeline.ocr import engine_kinds

    if engine not in engine_kinds():
        raise typer.BadParameter(
            f"must be one of {', '.join(engine_kinds())}", param_hint="--engine"
        )
    vlm = None
    url = vlm_url or os.environ.get("ARCHIVIST_VLM_BASE_URL")
    if url or engine == "vlm":
        fields: dict[str, object] = {"base_url": url}
        model = vlm_model or os.environ.get("ARCHIVIST_VLM_MODEL")
        if model:
            fields["model"] = model
        if os.environ.get("ARCHIVIST_VLM_API_KEY"):
            fields["api_key"] = os.environ["ARCHIVIST_VLM_API_KEY"]
        vlm = VlmOptions(**fields)
    return ConvertOptions(
        ocr=ocr,
        engine=engine,
        dpi=dpi,
        workers=workers,
        vlm=vlm,
        ocr_precision=precision,
    )
