"""The fast engine (faster-paddle, PP-OCRv6 tiny) and the routed one (fast, then rapidocr)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.errors import ConfigError
from pipeline.models import ConvertOptions
from pipeline.ocr import make_ocr_engine
from pipeline.ocr.base import PageImage
from tests.pipeline.ocr.conftest import ENGLISH, FRENCH, page_image

pytest.importorskip("faster_paddle")
pytest.importorskip("wordfreq")

ACCENTED = ("cœur", "élève", "déçu", "Noël", "réforme", "débattue", "fiancée", "maître", "hôtel")


def _text(result) -> str:  # type: ignore[no-untyped-def]
    return " ".join(line.text for line in result.lines).replace("’", "'")


@pytest.fixture(scope="module")
def fast():
    return make_ocr_engine(ConvertOptions(engine="fast", ocr_device="cpu"))


@pytest.fixture(scope="module")
def fast_unrepaired():
    from pipeline.ocr.fast import FastOcrEngine

    return FastOcrEngine()


def test_fast_reads_french_and_the_word_lists_put_back_what_it_loses(fast, fast_unrepaired):
    image = page_image(FRENCH)
    raw, result = (
        _text(fast_unrepaired.predict_batch([image])[0]),
        _text(fast.predict_batch([image])[0]),
    )
    for word in ACCENTED:
        assert word in result, f"{word!r} missing from {result!r}"
    assert "cœur" not in raw  # the tiny model writes "coœur": the repair is what fixes it
    assert result.replace("cœur", "") == raw.replace("coœur", "")  # and touches nothing else


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_fast_turns_pages_upright(fast, rotate: int) -> None:
    result = fast.predict_batch([page_image(ENGLISH, rotate=rotate)])[0]
    assert result.rotation == (360 - rotate) % 360 and result.engine == "fast"
    text = _text(result)
    assert "The archive keeps every issue of the paper." in text
    assert text.index("archive keeps") < text.index("Readers ask") < text.index("Each answer")
    assert result.height > result.width  # the upright frame is a portrait page
    assert all(0 <= ln.x0 < ln.x1 <= result.width and ln.y1 <= result.height for ln in result.lines)


def test_fast_finds_nothing_on_blank_or_noisy_paper(fast) -> None:
    blank = PageImage(pixels=np.full((1200, 900, 3), 250, np.uint8), dpi=150)
    noise = np.random.default_rng(7).integers(235, 256, (1200, 900, 3), dtype=np.uint8)
    assert [r.lines for r in fast.predict_batch([blank, PageImage(pixels=noise, dpi=150)])] == [
        [],
        [],
    ]


def test_fast_engine_refuses_cuda_and_unknown_models() -> None:
    from pipeline.ocr.fast import FastOcrEngine

    with pytest.raises(ConfigError, match="CPU only"):
        FastOcrEngine(device="cuda")
    with pytest.raises(ConfigError, match="tiny, small"):
        FastOcrEngine(model="huge")


@pytest.mark.slow
def test_fast_small_model_reads_french(fast) -> None:
    small = make_ocr_engine(ConvertOptions(engine="fast", ocr_model="small", ocr_device="cpu"))
    assert small is not fast and small.model == "small"
    text = _text(small.predict_batch([page_image(FRENCH)])[0])
    assert all(word in text for word in ACCENTED), text


def _routed(**settings: float):  # type: ignore[no-untyped-def]
    from pipeline.ocr.fast import make_fast
    from pipeline.ocr.rapid import RapidOcrEngine
    from pipeline.ocr.routed import RoutedOcrEngine

    fast = make_fast(ConvertOptions(ocr_device="cpu"))
    return RoutedOcrEngine(fast, RapidOcrEngine(device="cpu"), **settings)


@pytest.mark.slow
def test_routed_reads_sure_lines_once() -> None:
    engine = _routed()
    result = engine.predict_batch([page_image(FRENCH)])[0]
    assert result.engine == "routed" and all(w in _text(result) for w in ACCENTED)
    assert (engine.stats.pages, engine.stats.lines) == (1, 3)
    assert engine.stats.lines_read_again == 0 and engine.stats.words_repaired == 1


@pytest.mark.slow
@pytest.mark.parametrize("rotate", [0, 180])
def test_routed_reads_unsure_lines_again_with_the_accurate_engine(rotate: int) -> None:
    """With every line unsure (confidence floor above 1), each is read again by rapidocr in a
    band around it, on the upright page, and keeps its box."""
    engine = _routed(min_confidence=1.01, page_share=1.0)
    first = engine.fast.predict_batch([page_image(FRENCH, rotate=rotate)])[0]
    result = engine.predict_batch([page_image(FRENCH, rotate=rotate)])[0]
    assert engine.stats.lines_read_again == 3 and engine.stats.pages_read_again == 0
    assert all(w in _text(result) for w in ACCENTED), _text(result)
    assert [(ln.x0, ln.y0) for ln in result.lines] == [(ln.x0, ln.y0) for ln in first.lines]
    assert result.rotation == first.rotation == (360 - rotate) % 360


@pytest.mark.slow
def test_routed_reads_a_mostly_unsure_page_again_whole() -> None:
    engine = _routed(min_confidence=1.01, page_share=0.5)
    result = engine.predict_batch([page_image(ENGLISH)])[0]
    assert engine.stats.pages_read_again == 1 and engine.stats.lines_read_again == 3
    assert "The archive keeps every issue of the paper." in _text(result)


def test_routed_is_a_registered_kind_with_its_own_cache() -> None:
    a = make_ocr_engine(ConvertOptions(engine="routed", ocr_device="cpu"))
    b = make_ocr_engine(ConvertOptions(engine="routed", ocr_device="cpu", ocr_model="small"))
    assert a.kind == "routed" and a is not b and b.fast.model == "small"


@pytest.mark.gpu
def test_routed_second_pass_runs_on_cuda_and_the_fast_pass_on_the_cpu() -> None:
    """faster-paddle links a CPU-only ONNX Runtime: on a GPU machine the fast pass stays on the
    CPU and the accurate engine (onnxruntime-gpu) takes the GPU."""
    from pipeline.ocr.rapid import cuda_available

    if not cuda_available():
        pytest.skip("no CUDA GPU visible to onnxruntime")
    engine = make_ocr_engine(ConvertOptions(engine="routed", ocr_device="cuda"))
    assert engine.accurate.providers[0] == "CUDAExecutionProvider"
    engine.min_confidence = 1.01  # every line goes to the GPU
    result = engine.predict_batch([page_image(FRENCH)])[0]
    assert "élève" in _text(result) and engine.stats.lines_read_again >= 3
    with pytest.raises(ConfigError, match="CPU only"):
        make_ocr_engine(ConvertOptions(engine="fast", ocr_device="cuda"))


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["fast", "routed"])
def test_scanned_page_boxes_reach_the_sidecar_where_the_text_is(engine: str) -> None:
    """The converter turns the engine's pixel boxes into page regions: each block of the scanned
    page lies over the same block of the born-digital page it was made from."""
    import json

    import pymupdf

    from pipeline.convert import convert_document
    from pipeline.convert.provenance import provenance_json
    from pipeline.models import SourceDocument
    from tests.pipeline.ocr.conftest import text_page_pdf

    digital = text_page_pdf(FRENCH + ENGLISH)
    scan = pymupdf.open()
    page = scan.new_page(width=digital[0].rect.width, height=digital[0].rect.height)
    page.insert_image(page.rect, pixmap=digital[0].get_pixmap(dpi=150))
    opts = ConvertOptions(engine=engine, ocr_device="cpu")
    read = convert_document(SourceDocument(uri="mem://scan.pdf", data=scan.tobytes()), opts)
    truth = convert_document(SourceDocument(uri="mem://d.pdf", data=digital.tobytes()), opts)
    same = read.pages[0].markdown.replace("’", "'") == truth.pages[0].markdown.replace("’", "'")
    assert read.pages[0].method == "ocr" and same
    sidecar = json.loads(provenance_json(read))["pages"][0]
    assert sidecar["method"] == "ocr" and sidecar["confidence"] > 0.9
    expected = [b.box for b in truth.pages[0].blocks]
    for block, want in zip(sidecar["blocks"], expected, strict=True):
        x0, y0, x1, y1 = block["box"]
        assert abs(y0 - want.y0) < 6 and abs(x0 - want.x0) < 6 and abs(y1 - want.y1) < 10
        assert x1 > want.x0 + 0.8 * (want.x1 - want.x0)
