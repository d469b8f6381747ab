"""The layout model (pymupdf-layout, weights in the wheel) in the converter: regions, tables,
failures that cost only the model's labels, and the kind registry."""

from __future__ import annotations

import pymupdf
import pytest

from evals.convert.table_score import document_tables
from pipeline.convert import convert_document
from pipeline.convert import layout_model as lm
from pipeline.errors import ConfigError, EngineError
from pipeline.models import ConvertOptions
from tests.pipeline.convert.test_convert import BODY, lines_at, make_pdf, source

ROWS = (
    ("Algeria - Algérie", (33003, 33461, 33961, 34507)),
    ("Angola", (15421, 15977, 16544, 17122)),
    ("Benin - Bénin", (7606, 7823, 8042, 8264)),
    ("Botswana", (1833, 1855, 1876, 1898)),
    ("Burkina Faso", (12829, 13034, 13222, 13622)),
    ("Burundi", (7264, 7511, 7770, 8043)),
    ("Cabo Verde", (467, 474, 479, 482)),
    ("Cameroon - Cameroun", (17075, 17523, 17981, 18450)),
    ("Chad - Tchad", (9311, 9665, 10014, 10357)),
)


def _number(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def leader_table_page(page: pymupdf.Page) -> None:
    """A statistical annex: no rules, dot leaders, a header over the year columns."""
    page.insert_text((72, 60), "Annex I: Annual mid-year population, 2003 - 2006", fontsize=11)
    page.insert_text((72, 90), "Country or area", fontsize=7)
    page.insert_text((300, 84), "Population (thousands)", fontsize=7)
    for i, year in enumerate(range(2003, 2007)):
        page.insert_text((260 + i * 60, 96), str(year), fontsize=7)
    y = 112.0
    for name, values in ROWS:
        page.insert_text((72, y), name, fontsize=7)
        page.insert_text((76 + len(name) * 3.6, y), " ." * ((200 - len(name) * 4) // 7), fontsize=7)
        for i, value in enumerate(values):
            text = _number(value)
            width = pymupdf.get_text_length(text, fontsize=7)
            page.insert_text((290 + i * 60 - width, y), text, fontsize=7)
        y += 9


def test_a_table_without_rules_the_model_sees_becomes_a_table_row_by_row() -> None:
    doc = convert_document(source(make_pdf(leader_table_page)))
    page = doc.pages[0]
    assert any(r.kind == "table" for r in page.layout)
    tables = document_tables(page.markdown)
    assert len(tables) == 1
    grid = tables[0]
    rows = {grid.text[(r, 0)]: r for (r, c) in grid.text if c == 0 and grid.text[(r, c)]}
    for name, values in ROWS:
        assert name in rows, name  # the label alone: dot leaders are spacing, not text
        cells = [grid.text.get((rows[name], c), "") for c in range(1, 5)]
        assert cells == [_number(v) for v in values]


def test_the_layout_regions_are_recorded_per_page() -> None:
    doc = convert_document(source(make_pdf(lambda p: lines_at(p, 100, BODY))))
    kinds = {r.kind for r in doc.pages[0].layout}
    assert "text" in kinds and kinds <= {
        "text", "title", "picture", "table", "list-item", "page-header", "page-footer",
        "section-header", "footnote", "caption", "formula",
    }  # fmt: skip
    assert doc.pages[0].blocks[0].region == "text"
    none = convert_document(
        source(make_pdf(lambda p: lines_at(p, 100, BODY))), ConvertOptions(layout="none")
    )
    assert none.pages[0].layout == [] and none.pages[0].blocks[0].region is None


def test_a_failing_model_costs_its_labels_not_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: object, page: object) -> list[lm.Region]:
        raise EngineError("layout model failed: boom")

    monkeypatch.setattr(lm.PyMuPdfLayoutModel, "page_regions", broken)
    doc = convert_document(source(make_pdf(lambda p: lines_at(p, 100, BODY))))
    assert BODY[0][:40] in doc.pages[0].markdown
    assert doc.status == "ok" or doc.status == "partial"
    assert [(e.stage, e.page) for e in doc.errors] == [("layout", 1)]
    assert "boom" in doc.errors[0].message


def test_an_unknown_layout_kind_names_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"valid: .*none.*pymupdf"):
        convert_document(
            source(make_pdf(lambda p: lines_at(p, 100, BODY))), ConvertOptions(layout="nope")
        )


def test_a_registered_layout_kind_is_used() -> None:
    seen: list[str] = []

    class Everything:
        """Calls every line a page header: the converter must then keep what runs on."""

        kind = "everything"

        def __init__(self, opts: ConvertOptions) -> None:
            pass

        def page_regions(self, page: pymupdf.Page) -> list[lm.Region]:
            seen.append("page")
            return [lm.Region("page-header", 0, 0, page.rect.width, page.rect.height)]

        def line_regions(self, lines: object, width: float, height: float) -> list[lm.Region]:
            return [lm.Region("page-header", 0, 0, width, height)]

        def columns(self, page: object, region: object) -> list[float]:
            return []

        def line_columns(self, *args: object) -> list[float]:
            return []

    with lm.LAYOUT_MODELS.overridden("everything", Everything):
        doc = convert_document(
            source(make_pdf(lambda p: lines_at(p, 100, BODY))), ConvertOptions(layout="everything")
        )
    assert seen == ["page"]
    # every line is labelled a header, but the paragraph runs on: nothing of it is dropped
    assert BODY[1][:40] in doc.pages[0].markdown


@pytest.mark.gpu
def test_the_layout_model_runs_on_cuda_when_present() -> None:
    from pipeline.ocr.rapid import cuda_available

    if not cuda_available():
        pytest.skip("no CUDA GPU visible to onnxruntime")
    gpu = lm.layout_model(ConvertOptions(ocr_device="cuda"))
    cpu = lm.layout_model(ConvertOptions(ocr_device="cpu"))
    assert isinstance(gpu, lm.PyMuPdfLayoutModel) and isinstance(cpu, lm.PyMuPdfLayoutModel)
    assert gpu.model._model.session.get_providers()[0] == "CUDAExecutionProvider"
    page = pymupdf.open(stream=make_pdf(leader_table_page))[0]
    kinds = lambda model: sorted(r.kind for r in model.page_regions(page))  # noqa: E731
    assert kinds(gpu) == kinds(cpu)
