"""The authored corpus (labels/authored): its shape, its independence from the seeds, its loader."""
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from pipeline.records import LABELS
from pipeline.stance.authored import (AUTHORED_DOC, AuthoredError, authored_pairs, load_authored, read_part,
                                      shared_ngrams, subsample)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rows():
    return load_authored(ROOT / "labels" / "authored")


def test_corpus_is_large_and_varied(rows):
    assert len(rows) >= 2000
    assert len({r.referral for r in rows}) >= 40
    assert len({r.respondent_kind for r in rows}) >= 15
    counts = Counter(r.label for r in rows)
    assert set(counts) == set(LABELS)
    assert min(counts.values()) / len(rows) >= 0.15, counts  # every class well represented


def test_no_eight_word_sequence_of_the_seed_responses(rows):
    responses = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpus" / "responses").iterdir())
                 if p.suffix == ".txt"]
    assert len(responses) == 4
    assert shared_ngrams(rows, responses) == []


def test_overlap_check_finds_a_copied_sentence(rows, tmp_path):
    seed = (ROOT / "corpus" / "responses" / "socialstyrelsen.txt").read_text(encoding="utf-8")
    copied = " ".join(seed.split()[200:212])
    bad = tmp_path / "parts" / "copy.jsonl"
    bad.parent.mkdir()
    row = {"area": "x", "referral": "SOU 2099:1 X", "target_title": "T", "target_summary": "S.",
           "respondent_kind": "kommun", "respondent": "kommun", "passage": copied + ".", "label": "support", "note": ""}
    bad.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    assert [source for source, _ in shared_ngrams(load_authored(tmp_path), [seed])] == ["copy:1"]


#: SOU 2024:72's subject: medical competence in municipal health and elderly care
SEED_SUBJECT = re.compile(r"hälso- och sjukvård|sjukvård|läkar|sjukskötersk|medicinsk kompetens|äldreomsorg|\bMAS\b", re.I)


def test_no_referral_on_the_seeds_subject(rows):
    # what a referral and its proposals are about (a summary may mention "medicinska skäl" in passing)
    offending = {r.referral for r in rows if SEED_SUBJECT.search(f"{r.referral} {r.target_title}")}
    assert offending == set()


def test_no_passage_twice(rows):
    twice = [p for p, n in Counter(" ".join(r.passage.split()) for r in rows).items() if n > 1]
    assert twice == []


def test_rows_become_pairs_grouped_by_referral(rows):
    pairs = authored_pairs(rows[:20])
    assert all(p.doc == AUTHORED_DOC + r.referral and p.label == r.label and p.text == r.passage
               for p, r in zip(pairs, rows))
    assert pairs[0].target_text.startswith(rows[0].target_title)


def test_a_bad_row_names_file_and_line(tmp_path):
    part = tmp_path / "p.jsonl"
    good = {"area": "x", "referral": "R", "target_title": "T", "target_summary": "S", "respondent_kind": "kommun",
            "respondent": "k", "passage": "Kommunen tillstyrker.", "label": "support", "note": ""}
    part.write_text(json.dumps(good) + "\n" + json.dumps({**good, "label": "maybe"}) + "\n", encoding="utf-8")
    with pytest.raises(AuthoredError, match=r"p\.jsonl:2: label 'maybe'"):
        read_part(part)
    part.write_text(json.dumps({**good, "extra": 1}) + "\n", encoding="utf-8")
    with pytest.raises(AuthoredError, match=r"p\.jsonl:1: expected exactly the fields"):
        read_part(part)


def test_subsample_is_stratified_and_repeatable(rows):
    picked = subsample(rows, 500, seed=3)
    assert picked == subsample(rows, 500, seed=3) != subsample(rows, 500, seed=4)
    assert abs(len(picked) - 500) <= 2
    share = Counter(r.label for r in picked)
    whole = Counter(r.label for r in rows)
    assert all(abs(share[label] / len(picked) - whole[label] / len(rows)) < 0.01 for label in LABELS)
    assert subsample(rows, len(rows) + 1) == list(rows)
