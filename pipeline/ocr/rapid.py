"""RapidOCR (PP-OCRv6 detection and recognition, ONNX models inside the ``rapidocr`` wheel).

We drive its detector, orientation classifier and recogniser ourselves instead of calling the
library's all-in-one pipeline, for three reasons measured on 150 dpi pages with 2 threads:

- detection at most ``det_max_side`` pixels on the long side (the library's default keeps full
  resolution): 3-4× cheaper, and 150 dpi body text stays above ten pixels high;
- recognition crops narrowed to ``rec_squeeze`` of their width before the 48-pixel-high
  recogniser: its cost grows with width, and 0.8 kept every word while saving a third;
- one orientation decision per page (box shapes for 90/270°, the line classifier's vote on a
  sample for 180°) instead of classifying every line.

The CUDA execution provider is used when onnxruntime-gpu sees a GPU (``ocr_device`` auto/cuda).
``precision="int8"`` swaps in an 8-bit copy of the recogniser on CPU (``pipeline.ocr.rapid_int8``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import ConfigError, EngineError
from pipeline.models import ConvertOptions
from pipeline.ocr.base import OcrLine, OcrResult, PageImage

log = logging.getLogger(__name__)

INSTALL_HINT = "RapidOCR is not installed: pip install 'rapidocr>=3.4,<4'"
_ROTATE_CODES = {90: 0, 180: 1, 270: 2}  # cv2.ROTATE_90_CLOCKWISE, _180, _90_COUNTERCLOCKWISE


def cuda_available() -> bool:
    """Whether onnxruntime can run on a CUDA GPU here (onnxruntime-gpu and a visible device)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return False
    return "CUDAExecutionProvider" in ort.get_available_providers() and ort.get_device() == "GPU"


class RapidOcrEngine:
    """PP-OCRv6 small models on onnxruntime: multilingual Latin script, accents included.

    >>> engine = RapidOcrEngine(threads=2)                            # doctest: +SKIP
    >>> engine.predict_batch([PageImage(pixels, dpi=150)])[0].lines[0].text  # doctest: +SKIP
    'Edgar, King of England'
    """

    kind = "rapidocr"

    def __init__(
        self,
        *,
        threads: int = 1,
        device: str = "auto",
        det_max_side: int = 1280,
        rec_squeeze: float = 0.8,
        min_confidence: float = 0.5,
        precision: str = "fp32",
        cache_dir: str | Path | None = None,
    ) -> None:
        if device == "cuda" and not cuda_available():
            raise ConfigError("ocr_device=cuda but onnxruntime sees no CUDA GPU")
        self.threads = threads
        self.use_cuda = device == "cuda" or (device == "auto" and cuda_available())
        self.det_max_side = det_max_side
        self.rec_squeeze = rec_squeeze
        self.min_confidence = min_confidence
        if precision not in ("fp32", "int8"):
            raise ConfigError(f"unknown OCR precision {precision!r} (valid: fp32, int8)")
        # 8-bit recognition is a CPU speed-up; a GPU runs the float model.
        self.int8 = precision == "int8" and not self.use_cuda
        self.cache_dir = Path(cache_dir) if cache_dir else None  # None: the user's cache folder
        self._ocr: Any = None
        self._lock = threading.Lock()

    @property
    def providers(self) -> list[str]:
        """The execution providers the recogniser's session runs on, in priority order."""
        rec = self._models()[2]
        return list(rec.session.session.get_providers())

    def _models(self) -> tuple[Any, Any, Any]:
        with self._lock:
            if self._ocr is None:
                ocr = self._build()
                if self.int8:  # fails loudly rather than fall back to the float model
                    self._use_int8(ocr)
                self._ocr = ocr
        ocr = self._ocr
        return ocr._load_det_model(), ocr._load_cls_model(), ocr._load_rec_model()

    def _build(self) -> Any:
        try:
            from rapidocr import RapidOCR
        except ImportError as e:
            raise EngineError(INSTALL_HINT) from e
        params = {
            "Global.log_level": "error",
            "EngineConfig.onnxruntime.intra_op_num_threads": self.threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            "EngineConfig.onnxruntime.use_cuda": self.use_cuda,
            "Det.limit_side_len": self.det_max_side,
            "Det.limit_type": "max",
            "Rec.rec_batch_num": 4,  # wide line crops: bigger batches cost memory, not time
        }
        try:
            return RapidOCR(params=params)
        except Exception as e:  # a broken install or missing model file
            raise EngineError(f"RapidOCR failed to start: {e}") from e

    def _use_int8(self, ocr: Any) -> None:
        """Swap the recogniser's session for the cached 8-bit model (made on first use)."""
        import onnxruntime as ort

        from pipeline.ocr.rapid_int8 import calibration_pages, quantized_model

        det, rec = ocr._load_det_model(), ocr._load_rec_model()
        model_path = getattr(rec.session.session, "_model_path", None)
        if not model_path:
            raise EngineError("int8 OCR: the recogniser's model file is not known")
        source = Path(model_path)

        def inputs() -> list[np.ndarray]:
            # Lines cut to ten times their height: the activations' ranges are those of full
            # lines, and calibration (which stacks every input at one width) runs 3× faster.
            crops = [
                _squeeze(_crop(page, box), self.rec_squeeze)
                for page in calibration_pages()
                for box in _detect(det, page)
            ]
            crops = [c[:, : 10 * c.shape[0]] for c in crops]
            return [rec.resize_norm_img(c, 10.0)[None].astype(np.float32) for c in crops]

        try:
            path = quantized_model(source, inputs, cache_root=self.cache_dir)
        except EngineError:
            raise
        except Exception as e:  # onnx or the quantiser failed on this model
            raise EngineError(f"int8 OCR: could not quantise {source.name}: {e}") from e
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        rec.session.session = ort.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )

    def predict_batch(self, images: Sequence[PageImage]) -> list[OcrResult]:
        """Read each page image; one result per image, in order."""
        return [self._predict(image) for image in images]

    def _predict(self, image: PageImage) -> OcrResult:
        det, cls, rec = self._models()
        pixels = np.ascontiguousarray(image.pixels[:, :, :3])
        try:
            boxes = _detect(det, pixels)
            rotation = _orientation(pixels, boxes, cls, rec)
            if rotation:
                pixels = _rotate(pixels, rotation)
                boxes = _detect(det, pixels)
            lines = self._recognise(rec, pixels, boxes)
        except EngineError:
            raise
        except Exception as e:
            raise EngineError(f"RapidOCR failed on page {image.page}: {e}") from e
        height, width = pixels.shape[:2]
        return OcrResult(lines, width, height, rotation, engine=self.kind)

    def read_bands(
        self, bands: Sequence[tuple[np.ndarray, tuple[float, float, float, float]]]
    ) -> list[tuple[str, float]]:
        """Read again the line in the middle of each band: ``(image, box)`` → text, score.

        For a second reading of lines another engine found (the ``routed`` engine): a band is a
        strip of the upright page around that line. Lines are detected in the strip (tight,
        turned boxes, as on a page: an axis-aligned cut of a skewed line holds parts of its
        neighbours), those whose centre lies inside ``box`` (x0, y0, x1, y1) are recognised and
        joined left to right; the score is their mean confidence (0 when none was found).
        """
        if not bands:
            return []
        det, _, rec = self._models()
        try:
            return [self._read_band(det, rec, *band) for band in bands]
        except Exception as e:
            raise EngineError(f"RapidOCR failed on {len(bands)} line bands: {e}") from e

    def _read_band(
        self, det: Any, rec: Any, image: np.ndarray, box: tuple[float, float, float, float]
    ) -> tuple[str, float]:
        image = np.ascontiguousarray(image)
        lines = self._recognise(rec, image, _row_of(_detect(det, image), box))
        if not lines:
            return "", 0.0
        return " ".join(ln.text for ln in lines), sum(ln.confidence for ln in lines) / len(lines)

    def _recognise(self, rec: Any, pixels: np.ndarray, boxes: list[np.ndarray]) -> list[OcrLine]:
        if not boxes:
            return []
        from rapidocr.ch_ppocr_rec import TextRecInput

        crops = [_squeeze(_crop(pixels, box), self.rec_squeeze) for box in boxes]
        out = rec(TextRecInput(img=crops))
        lines = []
        for box, text, score in zip(boxes, out.txts or (), out.scores or (), strict=False):
            text = text.strip()
            if not text or score < self.min_confidence:
                continue
            xs, ys = box[:, 0], box[:, 1]
            lines.append(
                OcrLine(
                    text, float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()), score
                )
            )
        return lines


def _detect(det: Any, pixels: np.ndarray) -> list[np.ndarray]:
    """Text line quadrilaterals (4×2 float arrays) in reading-friendly order (top to bottom)."""
    result = det(pixels)
    if result.boxes is None:
        return []
    boxes = [np.asarray(b, dtype=np.float32) for b in result.boxes]
    return sorted(boxes, key=lambda b: (float(b[:, 1].min()), float(b[:, 0].min())))


def _row_of(boxes: list[np.ndarray], line: tuple[float, float, float, float]) -> list[np.ndarray]:
    """The detected boxes that make up ``line`` (x0, y0, x1, y1), left to right.

    The anchor is the box whose middle is nearest the line's among those that overlap it most
    in width; boxes beside it on the same row (their middle within half its height) join it.
    A neighbouring line's piece inside the line's axis-aligned box (a skewed page) does not.
    """
    x0, y0, x1, y1 = line
    middle = (y0 + y1) / 2

    def overlap(b: np.ndarray) -> float:
        return max(0.0, min(x1, float(b[:, 0].max())) - max(x0, float(b[:, 0].min())))

    inside = [b for b in boxes if overlap(b) > 0 and y0 <= float(b[:, 1].mean()) <= y1]
    if not inside:
        return []
    anchor = min(inside, key=lambda b: (-overlap(b), abs(float(b[:, 1].mean()) - middle)))
    half = np.ptp(anchor[:, 1]) / 2
    centre, (left, right) = float(anchor[:, 1].mean()), (anchor[:, 0].min(), anchor[:, 0].max())
    row = [
        b
        for b in inside
        if b is anchor
        or (
            abs(float(b[:, 1].mean()) - centre) <= half
            and (b[:, 0].max() <= left or b[:, 0].min() >= right)
        )
    ]
    return sorted(row, key=lambda b: float(b[:, 0].min()))


def _crop(pixels: np.ndarray, box: np.ndarray) -> np.ndarray:
    from rapidocr.utils.process_img import get_rotate_crop_image

    return get_rotate_crop_image(pixels, box.copy())


def _squeeze(crop: np.ndarray, factor: float) -> np.ndarray:
    """Narrow a line crop to ``factor`` of the width it would have at the recogniser's height."""
    import cv2

    height, width = crop.shape[:2]
    if factor >= 1.0 or height == 0:
        return crop
    scale = 48.0 / height
    return cv2.resize(
        crop, (max(1, round(width * scale * factor)), 48), interpolation=cv2.INTER_AREA
    )


def _rotate(pixels: np.ndarray, degrees: int) -> np.ndarray:
    import cv2

    return cv2.rotate(pixels, _ROTATE_CODES[degrees])


def _orientation(pixels: np.ndarray, boxes: list[np.ndarray], cls: Any, rec: Any) -> int:
    """How far to turn the page clockwise so its text reads upright (0, 90, 180 or 270).

    Lines on a page turned a quarter are taller than wide. The line classifier's vote says
    whether text is upside down; since it misreads handwriting and odd fonts, a turn is only
    made when the recogniser is also more confident on the turned lines than on the others.
    Fewer than three lines cannot outvote noise.
    """
    if len(boxes) < 3:
        return 0
    sizes = np.array([(np.ptp(b[:, 0]), np.ptp(b[:, 1])) for b in boxes])
    wide = np.maximum(sizes[:, 0], sizes[:, 1]) > 3 * np.minimum(sizes[:, 0], sizes[:, 1])
    long_lines = sizes[wide]
    quarter = len(long_lines) >= 3 and (long_lines[:, 1] > long_lines[:, 0]).mean() > 0.6
    longest = sorted(boxes, key=lambda b: -float(max(np.ptp(b[:, 0]), np.ptp(b[:, 1]))))[:8]
    # The library hands tall boxes back turned a quarter counter-clockwise: as cropped, they
    # read upright if the page needs 270°; turned half-way, if it needs 90°.
    crops = [_crop(pixels, box) for box in longest]
    if quarter:
        candidates = (270, 90)
    elif _upside_down(crops, cls):
        candidates = (0, 180)
    else:
        return 0
    scores = [_rec_score(rec, crops), _rec_score(rec, [_rotate(c, 180) for c in crops])]
    return candidates[int(np.argmax(scores))]


def _rec_score(rec: Any, crops: list[np.ndarray]) -> float:
    from rapidocr.ch_ppocr_rec import TextRecInput

    out = rec(TextRecInput(img=[_squeeze(c, 0.8) for c in crops]))
    scores = [s * len(t) for t, s in zip(out.txts or (), out.scores or (), strict=False)]
    return float(sum(scores))


def _upside_down(crops: list[np.ndarray], cls: Any) -> bool:
    """The orientation classifier's vote, weighted by confidence, over a sample of lines."""
    if not crops:
        return False
    out = cls([np.ascontiguousarray(c) for c in crops])
    votes = 0.0
    for label, score in out.cls_res or ():
        votes += score if "180" in str(label) else -score
    return votes > 0


def make_rapidocr(opts: ConvertOptions) -> RapidOcrEngine:
    """The registry's factory: threads, device, precision and model cache from the options."""
    return RapidOcrEngine(
        threads=opts.ocr_threads,
        device=opts.ocr_device,
        precision=opts.ocr_precision,
        cache_dir=opts.cache_dir,
    )
