"""The opt-in 8-bit recogniser: made once, cached, and reading the same text as the float one."""

from __future__ import annotations

from pathlib import Path

import pytest
from rapidfuzz.distance import Levenshtein

from pipeline.errors import ConfigError
from pipeline.models import ConvertOptions
from pipeline.ocr import make_ocr_engine
from tests.pipeline.ocr.conftest import ENGLISH, FRENCH, page_image


def _text(result) -> str:  # type: ignore[no-untyped-def]
    return " ".join(line.text for line in result.lines)


def test_unknown_precision_is_a_config_error() -> None:
    pytest.importorskip("rapidocr")
    from pipeline.ocr.rapid import RapidOcrEngine

    with pytest.raises(ConfigError, match="fp32, int8"):
        RapidOcrEngine(precision="int4")


def test_precision_is_part_of_the_engine_cache_key() -> None:
    pytest.importorskip("rapidocr")
    fp32 = make_ocr_engine(ConvertOptions(engine="rapidocr", ocr_device="cpu"))
    int8 = make_ocr_engine(
        ConvertOptions(engine="rapidocr", ocr_device="cpu", ocr_precision="int8")
    )
    assert fp32 is not int8 and getattr(int8, "int8", False) and not getattr(fp32, "int8", True)


@pytest.mark.slow
def test_int8_reads_accents_like_fp32_and_is_cached(rapid_engine, tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    from pipeline.ocr.rapid import RapidOcrEngine

    engine = RapidOcrEngine(threads=2, device="cpu", precision="int8", cache_dir=tmp_path)
    image = page_image(FRENCH + ENGLISH)
    quantised = _text(engine.predict_batch([image])[0])
    reference = _text(rapid_engine.predict_batch([image])[0])
    # The recogniser really is the cached 8-bit copy, not the float model.
    rec = engine._models()[2]
    model = Path(rec.session.session._model_path)
    assert model.parent == tmp_path / "ocr" and ".int8." in model.name
    for word in ("cœur", "élève", "déçu", "Noël", "réforme", "débattue", "maître", "hôtel"):
        assert word in quantised, (word, quantised)
    assert Levenshtein.normalized_distance(quantised, reference) < 0.03
    # A second engine reuses the file instead of quantising again.
    made = model.stat().st_mtime_ns
    again = RapidOcrEngine(threads=1, device="cpu", precision="int8", cache_dir=tmp_path)
    assert Path(again._models()[2].session.session._model_path) == model
    assert model.stat().st_mtime_ns == made


def test_int8_without_onnx_fails_with_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("rapidocr")
    import sys

    from pipeline.errors import EngineError
    from pipeline.ocr.rapid import RapidOcrEngine

    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    # nothing cached in tmp_path: it must quantise
    engine = RapidOcrEngine(threads=1, device="cpu", precision="int8", cache_dir=tmp_path)
    with pytest.raises(EngineError, match="pip install 'onnx"):
        engine.predict_batch([page_image(ENGLISH)])
    assert engine._ocr is None  # no silent fall-back to the float model


@pytest.mark.parametrize(
    ("flags", "machine", "saturates"),
    [
        ("fpu sse4_2 avx2 fma", "x86_64", True),  # AVX2 without VNNI: VPMADDUBSW saturates
        ("fpu sse4_2 avx2 avx512f avx512_vnni", "x86_64", False),
        ("fpu sse4_2 avx2 avx_vnni", "x86_64", False),
        ("fp asimd asimddp", "aarch64", False),  # other kernels, no such instruction
    ],
)
def test_weights_get_seven_bits_only_where_eight_bit_kernels_saturate(
    flags: str, machine: str, saturates: bool
) -> None:
    from pipeline.ocr.rapid_int8 import saturating_cpu

    assert saturating_cpu(f"processor\t: 0\nflags\t\t: {flags}\n", machine) is saturates
