"""Options shared by ``archivist convert`` and ``archivist eval convert``: how pages are read.

A flag left out keeps the value the settings give (``ARCHIVIST_OCR_ENGINE``,
``ARCHIVIST_VLM_BASE_URL``, ``ARCHIVIST_CONVERT__…``, ``archivist.toml``), as for ``ingest``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.models import ConvertOptions
from pipeline.ocr import OCR_ENGINES
from pipeline.settings import Settings

OcrOpt = Annotated[
    str | None,
    typer.Option(
        "--ocr",
        help="auto: OCR only pages without a good text layer; always; never.",
        case_sensitive=False,
    ),
]
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="OCR engine: routed (default: fast, then rapidocr where unsure), fast, rapidocr, "
        "tesseract, vlm or a plugin's.",
    ),
]
DpiOpt = Annotated[
    int | None, typer.Option("--dpi", min=50, max=600, help="Render resolution for OCR.")
]
WorkersOpt = Annotated[
    int | None, typer.Option("--workers", min=1, max=64, help="Pages OCR'd at once.")
]
PrecisionOpt = Annotated[
    str | None,
    typer.Option(
        "--ocr-precision",
        help="rapidocr recogniser: fp32, or int8 (about 1.5x faster on CPU; needs onnx; "
        "quantised once on first use).",
    ),
]
LayoutOpt = Annotated[
    str | None,
    typer.Option(
        "--layout",
        help="Layout model: pymupdf (regions from a trained model; the default), imf (the same "
        "with page-image features: slower, better on headers and footers), none (rules only).",
        show_default=False,
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option("--ocr-model", help="fast/routed engines' first reader: tiny (default) or small."),
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
    ocr: str | None = None,
    engine: str | None = None,
    dpi: int | None = None,
    workers: int | None = None,
    vlm_url: str | None = None,
    vlm_model: str | None = None,
    precision: str | None = None,
    layout: str | None = None,
    model: str | None = None,
) -> ConvertOptions:
    """The settings' ``ConvertOptions`` (``ARCHIVIST_*``, ``archivist.toml``: every convert and
    VLM option) with the flags that were given on top."""
    if ocr is not None and ocr.lower() not in ("auto", "always", "never"):
        raise typer.BadParameter("must be auto, always or never", param_hint="--ocr")
    if precision is not None and precision not in ("fp32", "int8"):
        raise typer.BadParameter("must be fp32 or int8", param_hint="--ocr-precision")
    if layout is not None and layout not in ("pymupdf", "imf", "none"):
        raise typer.BadParameter("must be pymupdf, imf or none", param_hint="--layout")
    if model is not None and model not in ("tiny", "small"):
        raise typer.BadParameter("must be tiny or small", param_hint="--ocr-model")
    flags = {
        "ocr": ocr.lower() if ocr else None,
        "ocr_engine": engine,
        "ocr_dpi": dpi,
        "ocr_workers": workers,
        "vlm_base_url": vlm_url,
        "vlm_model": vlm_model,
        "ocr_precision": precision,
        "convert__layout": None if layout is None else ("none" if layout == "none" else "pymupdf"),
        "convert__layout_features": None
        if layout is None
        else ("imf+rf" if layout == "imf" else "rf"),
        "ocr_model": model,
    }
    opts = Settings(**{k: v for k, v in flags.items() if v is not None}).convert
    if opts.engine not in OCR_ENGINES:
        raise typer.BadParameter(
            f"must be one of {', '.join(OCR_ENGINES.kinds())}", param_hint="--engine"
        )
    return opts
