"""The tests that decide whether two texts are versions of one story, on real wire copy from
the wire eval set (evals/data/wire): an urgent, its first lead, an update that rewrote the top,
a correction, a translation, and other stories on the same subject that must stay apart."""

from __future__ import annotations

import json
from functools import cache

import pytest

from evals.collection import document_bytes
from pipeline.models import VariantOptions
from pipeline.store.minhash import (
    Fingerprint,
    contained,
    fingerprint,
    near_identical,
    numbers,
    retold,
    translated,
)
from tests.conftest import REPO

WIRE = REPO / "evals" / "data" / "wire" / "corpus.jsonl"
OPTS = VariantOptions()


@cache
def _texts() -> dict[str, str]:
    rows = [json.loads(line) for line in WIRE.read_text(encoding="utf-8").splitlines()]
    return {r["_id"]: r["text"] for r in rows}


def fp(ident: str) -> Fingerprint:
    return fingerprint(_texts()[ident])


def test_keys_are_a_function_of_the_text_alone():
    # Stored keys must match across processes: no per-process salt, no randomness.
    assert fp("brennach-lead1").keys == fingerprint(_texts()["brennach-lead1"]).keys
    assert len(set(fp("brennach-lead1").keys) & set(fp("brennach-corrected").keys)) > 0
    assert not set(fp("brennach-lead1").keys) & set(fp("kestrel-lead1").keys)
    assert fingerprint("").keys == ()


def test_numbers_are_written_the_same_in_both_languages():
    assert numbers("4,100 people; 6.82 metres") == numbers("4 100 personnes ; 6,82 mètres")
    assert {"4100", "682"} <= numbers("4,100 people; 6.82 metres")


def test_a_correction_is_near_identical_to_what_it_corrects():
    assert near_identical(fp("brennach-lead2"), fp("brennach-corrected"), OPTS)
    assert near_identical(fp("fire-lead1"), fp("fire-corrected"), OPTS)


def test_an_urgent_is_inside_its_lead_and_an_update_keeps_the_body():
    assert contained(fp("dockers-urgent"), fp("dockers-lead1"), OPTS)
    assert contained(fp("kestrel-lead1"), fp("kestrel-lead2"), OPTS)
    assert not near_identical(fp("kestrel-lead1"), fp("kestrel-lead2"), OPTS)


def test_a_reworded_urgent_is_retold_by_its_lead_not_by_a_sidebar():
    assert not contained(fp("rail-urgent"), fp("rail-lead1"), OPTS)
    assert retold(fp("rail-urgent"), fp("rail-lead1"), OPTS)
    assert not retold(fp("rail-urgent"), fp("rail-sidebar"), OPTS)
    assert not retold(fp("rail-lead1"), fp("rail-lead2"), OPTS)  # neither is a brief


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("brennach-lead2", "brennach-cleanup"),  # the clean-up three days later
        ("ncb-lead1", "ncb-june"),  # next month's decision, written in the same mould
        ("vote-lead1", "vote-2015"),  # the previous election
        ("dockers-lead2", "dockers-return"),  # the end of the strike
    ],
)
def test_other_stories_on_the_same_subject_are_neither_identical_nor_contained(a, b):
    assert not near_identical(fp(a), fp(b), OPTS)
    assert not contained(fp(a), fp(b), OPTS)


def test_translations_need_close_vectors_and_the_same_numbers():
    en, fr = fp("brennach-corrected"), fp("brennach-fr")
    assert translated(en, fr, cosine=0.8, opts=OPTS)
    assert not translated(en, fr, cosine=0.6, opts=OPTS)
    assert not translated(en, fp("brennach-defences"), cosine=0.8, opts=OPTS)  # other numbers


def test_eval_documents_carry_date_and_language_as_front_matter():
    data = document_bytes("T", "Body.", {"date": "2011-04-19", "language": "en", "story": "x"})
    assert data.decode().startswith("---\ntitle: T\ndate: '2011-04-19'\nlanguage: en\n---")
