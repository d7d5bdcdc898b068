"""The model registry: every registered model fits, saves, loads and predicts the same, and
`remiss train` fits what train.model names (or what the evaluation ranks first)."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
import yaml

from pipeline import cli
from pipeline.records import LABELS, Prediction, read_jsonl, write_jsonl
from pipeline.stance.baselines import SklearnArtefact, TfidfLogReg
from pipeline.stance.models import LEARNED, MODELS, create, fit_and_save, load, model_name
from pipeline.stance.params import TrainParams
from tests.conftest import GOLD, REGISTRY


@pytest.fixture(scope="module")
def small_pairs(stance_pairs):
    """Four statements per label: enough to fit every model, small enough for SetFit on a CPU."""
    return [p for label in LABELS for p in [q for q in stance_pairs if q.label == label][:4]]


@pytest.fixture(scope="module")
def tiny_params(tiny_bert):
    return TrainParams(backbone=str(tiny_bert), epochs=2, batch_size=8, learning_rate=3e-3, max_length=64,
                       freeze_embeddings=False, freeze_layers=0, setfit_steps=4)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_registered_model_fits_saves_loads_and_predicts_the_same(name, small_pairs, tiny_params, tmp_path):
    # the neural models train the tiny BERT: the exact code KB-BERT or e5 goes through
    out = fit_and_save(small_pairs, dataclasses.replace(tiny_params, model=name), tmp_path / "stance")
    assert model_name(out) == name
    meta = json.loads((out / "stance_meta.json").read_text())
    assert meta["n_pairs"] == len(small_pairs) and sum(meta["label_counts"].values()) == len(small_pairs)
    first, second = load(out), load(out)
    a, b = first.predict(small_pairs), second.predict(small_pairs)
    assert [p.label for p in a] == [p.label for p in b]
    for x, y in zip(a, b):
        assert set(x.probs) == set(LABELS) and sum(x.probs.values()) == pytest.approx(1.0, abs=1e-5)
        assert x.label == max(x.probs, key=x.probs.get)
        assert x.probs == pytest.approx(y.probs, abs=1e-5)
    assert first.predict([]) == []


@pytest.mark.parametrize("name", ["lexicon", "tfidf_logreg", "hybrid"])
def test_a_fitted_model_predicts_after_loading_what_it_predicted_before(name, stance_pairs, tmp_path):
    out = fit_and_save(stance_pairs, TrainParams(model=name), tmp_path / "stance")
    fresh = create(name).fit(stance_pairs)
    assert load(out).predict(stance_pairs) == fresh.predict(stance_pairs)


@pytest.mark.parametrize("name", [n for n in LEARNED if MODELS[n].__module__.endswith("baselines")])
def test_every_learned_baseline_learns_its_training_data_and_refuses_bad_labels(name, stance_pairs):
    model = create(name)
    with pytest.raises(ValueError):
        model.fit([dataclasses.replace(stance_pairs[0], label="maybe")])
    with pytest.raises(NotFittedError):
        create(name).predict(stance_pairs)
    predictions = model.fit(stance_pairs).predict(stance_pairs)
    fitted = np.mean([p.label == s.label for p, s in zip(predictions, stance_pairs)])
    assert fitted >= 0.7, f"{name} does not even fit its own training data ({fitted:.2f})"


def test_unknown_model_names_are_refused(stance_pairs, tmp_path):
    with pytest.raises(ValueError, match="unknown stance model 'nope'"):
        create("nope")
    with pytest.raises(ValueError, match="unknown stance model 'nope'"):
        fit_and_save(stance_pairs, TrainParams(model="nope"), tmp_path / "stance")
    assert not (tmp_path / "stance").exists()


def test_a_directory_that_does_not_hold_what_its_metadata_names_is_refused(stance_pairs, tmp_path):
    with pytest.raises(FileNotFoundError, match="not a stance model"):
        load(tmp_path)
    out = fit_and_save(stance_pairs, TrainParams(model="hybrid"), tmp_path / "stance")
    import joblib

    (out / SklearnArtefact.FILE).unlink()  # a directory saved before skops: a pickle, loaded only if trusted
    joblib.dump(TfidfLogReg().fit(stance_pairs), out / SklearnArtefact.PICKLE)
    with pytest.raises(ValueError, match="holds a TfidfLogReg, not a HybridLogReg"):
        load(out, trust=True)
    lexicon = fit_and_save(stance_pairs, TrainParams(model="lexicon"), tmp_path / "lexicon")
    (lexicon / "calibration.json").write_text('[{"rule": 1}]')
    with pytest.raises(ValueError, match="calibration.json: not a lexicon calibration"):
        load(lexicon)


def test_train_then_classify_deploys_the_model_params_name(tmp_path, paragraphs, corpus_links, stance_pairs):
    data = tmp_path / "data"
    write_jsonl(data / "paragraphs.jsonl", paragraphs)
    write_jsonl(data / "links.jsonl", corpus_links)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"train": {"model": "lexicon"}}))
    assert cli.main(["train", "--paragraphs", str(data / "paragraphs.jsonl"), "--referral", str(REGISTRY),
                     "--statements", str(GOLD / "statements.yaml"), "--corrections", str(tmp_path / "none"),
                     "--authored", str(tmp_path / "none"), "--params", str(params), "--out", str(tmp_path / "stance")]) == 0
    assert model_name(tmp_path / "stance") == "lexicon"
    assert cli.main(["classify", "--model", str(tmp_path / "stance"), "--links", str(data / "links.jsonl"),
                     "--paragraphs", str(data / "paragraphs.jsonl"), "--referral", str(REGISTRY),
                     "--out", str(data / "predictions.jsonl")]) == 0
    predictions = read_jsonl(data / "predictions.jsonl", Prediction)
    # the city's own verdicts on 5.4 and its boards' doubts, as the lexicon reads them
    by_paragraph = {p.paragraph: p for p in predictions if p.doc == "stockholms-stad" and p.target == "5.4"}
    texts = {p.id: p.text for p in paragraphs if p.doc == "stockholms-stad"}
    hesitant = [pid for pid, p in by_paragraph.items() if p.stance == "hesitant"]
    assert hesitant and all("tveksam" in texts[pid] for pid in hesitant)
    assert len(predictions) == len({(l.doc, l.paragraph, str(l.target)) for l in corpus_links})


def test_the_command_line_overrides_the_params_model(tmp_path, paragraphs):
    write_jsonl(tmp_path / "paragraphs.jsonl", paragraphs)
    assert cli.main(["train", "--paragraphs", str(tmp_path / "paragraphs.jsonl"), "--referral", str(REGISTRY),
                     "--statements", str(GOLD / "statements.yaml"), "--corrections", str(tmp_path / "none"),
                     "--authored", str(tmp_path / "none"), "--params", str(tmp_path / "none.yaml"),
                     "--model", "tfidf_logreg",
                     "--out", str(tmp_path / "stance")]) == 0
    assert isinstance(load(tmp_path / "stance"), TfidfLogReg)


def test_auto_deploys_the_model_the_evaluation_ranks_first(tmp_path, paragraphs, caplog):
    write_jsonl(tmp_path / "paragraphs.jsonl", paragraphs)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"train": {"model": "auto"},
                                      "evaluate": {"deploy_by": "unseen.macro_f1",
                                                   "deploy_from": ["tfidf_logreg", "hybrid"]}}))
    metrics = tmp_path / "stance.json"
    metrics.write_text(json.dumps({"unseen": {"models": {"lexicon": {"macro_f1": 0.9}, "tfidf_logreg": {"macro_f1": 0.7},
                                                         "hybrid": {"macro_f1": 0.6}}}}))
    args = ["train", "--paragraphs", str(tmp_path / "paragraphs.jsonl"), "--referral", str(REGISTRY),
            "--statements", str(GOLD / "statements.yaml"), "--corrections", str(tmp_path / "none"),
            "--authored", str(tmp_path / "none"), "--params", str(params), "--out", str(tmp_path / "stance")]
    assert cli.main([*args, "--metrics", str(tmp_path / "missing.json")]) == 2
    assert "missing.json: train.model is 'auto', which needs `remiss evaluate`'s summary" in caplog.text
    assert cli.main([*args, "--metrics", str(metrics)]) == 0
    # the lexicon scores higher but is not among deploy_from
    assert model_name(tmp_path / "stance") == "tfidf_logreg"
