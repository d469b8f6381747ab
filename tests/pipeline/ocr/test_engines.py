"""OCR engines on rendered pages: RapidOCR (default), Tesseract and CUDA where present."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from pipeline.errors import ConfigError
from pipeline.models import ConvertOptions
from pipeline.ocr import engine_kinds, make_ocr_engine
from pipeline.ocr.base import PageImage
from tests.pipeline.ocr.conftest import ENGLISH, FRENCH, page_image


def _text(result) -> str:  # type: ignore[no-untyped-def]
    return " ".join(line.text for line in result.lines)


def test_unknown_engine_names_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as info:
        make_ocr_engine(ConvertOptions(engine="magic"))
    assert "fast, rapidocr, routed, tesseract, vlm" in str(info.value)
    assert engine_kinds() == ["fast", "rapidocr", "routed", "tesseract", "vlm"]


def test_engines_are_built_once_per_setting() -> None:
    pytest.importorskip("rapidocr")
    opts = ConvertOptions(ocr_device="cpu")
    assert make_ocr_engine(opts) is make_ocr_engine(opts)
    assert make_ocr_engine(opts) is not make_ocr_engine(
        ConvertOptions(ocr_device="cpu", ocr_threads=2)
    )


@pytest.mark.slow
def test_rapidocr_reads_french_accents(rapid_engine) -> None:
    result = rapid_engine.predict_batch([page_image(FRENCH)])[0]
    text = _text(result)
    for word in (
        "cœur",
        "élève",
        "déçu",
        "Noël",
        "réforme",
        "débattue",
        "fiancée",
        "maître",
        "hôtel",
    ):
        assert word in text, f"{word!r} missing from {text!r}"
    assert result.rotation == 0 and result.engine == "rapidocr"
    # boxes are in pixels of the image, top to bottom in the order the lines were drawn
    tops = [line.y0 for line in result.lines]
    assert tops == sorted(tops) and all(0.5 <= ln.confidence <= 1 for ln in result.lines)
    assert max(line.x1 for line in result.lines) <= result.width


@pytest.mark.slow
@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_rapidocr_turns_rotated_pages_upright(rapid_engine, rotate: int) -> None:
    result = rapid_engine.predict_batch([page_image(ENGLISH, rotate=rotate)])[0]
    assert result.rotation == (360 - rotate) % 360
    assert "The archive keeps every issue of the paper." in _text(result)
    if rotate in (90, 270):  # the upright frame is a portrait page again
        assert result.height > result.width


@pytest.mark.slow
def test_rapidocr_finds_nothing_on_a_blank_page(rapid_engine) -> None:
    blank = PageImage(pixels=np.full((1200, 900, 3), 250, np.uint8), dpi=150)
    noise = np.random.default_rng(7).integers(235, 256, (1200, 900, 3), dtype=np.uint8)
    results = rapid_engine.predict_batch([blank, PageImage(pixels=noise, dpi=150)])
    assert [r.lines for r in results] == [[], []]


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract binary not installed")
def test_tesseract_reads_french_when_installed() -> None:
    engine = make_ocr_engine(ConvertOptions(engine="tesseract", ocr_languages=("fr", "en")))
    result = engine.predict_batch([page_image(FRENCH)])[0]
    text = _text(result)
    assert "élève" in text and "réforme" in text and result.engine == "tesseract"


@pytest.mark.gpu
def test_rapidocr_runs_on_cuda_when_present() -> None:
    pytest.importorskip("rapidocr")
    from pipeline.ocr.rapid import RapidOcrEngine, cuda_available

    if not cuda_available():
        pytest.skip("no CUDA GPU visible to onnxruntime")
    engine = RapidOcrEngine(device="cuda")
    assert engine.providers[0] == "CUDAExecutionProvider"
    result = engine.predict_batch([page_image(FRENCH)])[0]
    assert "élève" in _text(result)


def test_cuda_requested_without_a_gpu_is_a_config_error() -> None:
    pytest.importorskip("rapidocr")
    from pipeline.ocr.rapid import RapidOcrEngine, cuda_available

    if cuda_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        RapidOcrEngine(device="cuda")
