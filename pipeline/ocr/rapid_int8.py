"""An 8-bit copy of the PP-OCRv6 recogniser, made once per machine and cached on disk.

Recognition is about 80 % of a scanned page's CPU time, nearly all of it in convolutions. With
the convolutions quantised to 8 bits (static, per-channel weights, activations calibrated on
text lines this module renders itself) a page takes about 1.6× less CPU on an AVX-512 VNNI
machine. Per line, about 0.7 % of characters differ from the float model's reading. Per page,
against the truth, the result is within ±0.002 normalised edit distance, some pages better and
some worse (figures in docs/convert.md). It is opt-in: ``ConvertOptions(ocr_precision="int8")``.

On an x86 CPU without VNNI (AVX2 only), ONNX Runtime's 8-bit convolutions multiply with an
instruction that can saturate: there the copy read "coeur" for "cœur". On such a CPU
(``saturating_cpu``) the weights are quantised to 7 bits (``reduce_range``), as ONNX Runtime
advises, and the cached copy is named apart.

Making the copy needs the ``onnx`` package and takes under a minute; the file is written
atomically under ``ConvertOptions.cache_dir`` (``ARCHIVIST_CACHE_DIR``; default
``~/.cache/archivist``), named after a hash of
the source model and the calibration recipe, so a new ``rapidocr`` release makes a new copy.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from pipeline.errors import EngineError

log = logging.getLogger(__name__)

INSTALL_HINT = "int8 OCR needs the onnx package: pip install 'onnx>=1.17'"

# Calibration text: ordinary prose in the engine's languages, with accents, digits and signs.
_CALIBRATION = (
    "The committee met on 12 March 2024 and approved the budget of € 1,250,000 for the year.",
    "Le conseil a décidé, après une longue délibération, de reporter l'examen du projet à l'été.",
    "Chapter 3: Results and discussion (see Table 2, p. 45) — the effect was significant.",
    "Les élèves étaient nombreux à la réunion ; chacun a reçu un exemplaire du règlement.",
    "Revenue grew 8.5 % to $ 3,423 million, while costs fell from 2,532 to 1,892 million.",
    "Où qu'il aille, il emporte son cahier : « Ça m'aide à ne rien oublier », dit-il souvent.",
    "Minutes of the annual general meeting held at the town hall, 14 Rue des Écoles, Paris.",
    "ÉTAT DES LIEUX — SYNTHÈSE DU RAPPORT ANNUEL 2023 (ANNEXE B, PAGES 12 À 19)",
)
_FONTS = ("helv", "tiro", "cour", "hebo")
# Named in the cached file: a change of calibration makes a new copy instead of reusing the old.
RECIPE = "conv-pc-p9999-v1"
_VNNI = re.compile(r"\b(avx512_vnni|avx_vnni|avx_vnni_int8)\b")


def saturating_cpu(cpuinfo: str | None = None, machine: str | None = None) -> bool:
    """Whether this CPU's 8-bit kernels can saturate: x86-64 whose flags (``/proc/cpuinfo``)
    show no VNNI instructions. Unknown (no ``/proc/cpuinfo``: not Linux) counts as not."""
    if (machine or platform.machine()).lower() not in ("x86_64", "amd64"):
        return False
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    return "avx2" in cpuinfo and not _VNNI.search(cpuinfo)


def cache_dir(root: Path | None = None) -> Path:
    """Where converted models are kept: under ``root``, else ``~/.cache/archivist``."""
    return (root or Path.home() / ".cache" / "archivist") / "ocr"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def calibration_pages(dpi: int = 150) -> Iterator[np.ndarray]:
    """RGB renders of a few pages of the calibration text in several fonts and sizes."""
    import pymupdf

    for n, font in enumerate(_FONTS):
        doc = pymupdf.open()
        page = doc.new_page(width=612, height=792)
        y = 60.0
        for size in (8.5, 10.0, 12.0, 15.0):
            for text in _CALIBRATION[n % 2 :: 2]:
                page.insert_textbox(
                    pymupdf.Rect(50, y, 562, y + 3 * size), text, fontsize=size, fontname=font
                )
                y += 2.6 * size
        pix = page.get_pixmap(dpi=dpi, alpha=False)
        yield np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3).copy()


def quantized_model(
    source: Path, inputs: Callable[[], list[np.ndarray]], *, cache_root: Path | None = None
) -> Path:
    """The cached 8-bit copy of ``source`` (made now if missing), under ``cache_root``.

    ``inputs`` gives the calibration tensors: rendered text lines as the recogniser sees them,
    all of one width (the percentile calibrator stacks them).
    """
    reduce_range = saturating_cpu()
    recipe = RECIPE + ("-rr7" if reduce_range else "")
    target = cache_dir(cache_root) / f"{source.stem}.int8.{recipe}.{_digest(source)}.onnx"
    if target.exists():
        return target
    try:
        import onnx
        from onnx import version_converter
        from onnxruntime.quantization import (
            CalibrationDataReader,
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as e:
        raise EngineError(INSTALL_HINT) from e

    batches = inputs()
    if not batches:
        raise EngineError("int8 OCR: no calibration lines were detected")
    model = onnx.load(str(source))
    name = model.graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(batches)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self._it, None)
            return None if batch is None else {name: batch}

    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("making an 8-bit copy of %s (once per machine)", source.name)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        opset13 = Path(tmp) / "opset13.onnx"
        prepared = Path(tmp) / "prepared.onnx"
        quantized = Path(tmp) / "int8.onnx"
        # Per-channel scales need DequantizeLinear's ``axis``: opset 13 or later.
        onnx.save(version_converter.convert_version(model, 13), str(opset13))
        quant_pre_process(str(opset13), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(quantized),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["Conv"],
            reduce_range=reduce_range,  # 7-bit weights: no saturation without VNNI
            # Min/max ranges let rare outliers coarsen every step; clipping at the 99.99th
            # percentile kept "cœur" read right where min/max read "cœeur".
            calibrate_method=CalibrationMethod.Percentile,
            extra_options={"CalibPercentile": 99.99},
        )
        os.replace(quantized, target)  # atomic: a concurrent process sees all or nothing
    return target
