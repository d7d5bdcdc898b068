"""Deploying any evaluated model: `remiss train` fits what train.model names, and classify and
score load it back, whatever it is, with the predictions it had when fitted."""
from __future__ import annotations

import json

import pytest
import yaml

from pipeline import cli
from pipeline.records import read_jsonl, write_jsonl, Prediction
from pipeline.stance.baselines import TfidfLogReg
from pipeline.stance.deploy import ESTIMATOR_FILE, factories, fit_and_save, load, model_name
from pipeline.stance.train import TrainParams
from tests.conftest import GOLD, REGISTRY


@pytest.mark.parametrize("name", ["lexicon", "tfidf_logreg"])
def test_a_fitted_baseline_predicts_the_same_after_save_and_load(name, stance_pairs, tmp_path):
    out = fit_and_save(stance_pairs, TrainParams(model=name), tmp_path / "stance")
    fresh = factories([name], None, None)[name]().fit(stance_pairs)
    loaded = load(out)
    assert model_name(out) == name and type(loaded) is type(fresh)
    assert loaded.predict(stance_pairs) == fresh.predict(stance_pairs)
    meta = json.loads((out / "stance_meta.json").read_text())
    assert meta["n_pairs"] == len(stance_pairs) and sum(meta["label_counts"].values()) == len(stance_pairs)


def test_unknown_model_names_are_refused(stance_pairs, tmp_path):
    with pytest.raises(ValueError, match="unknown model.*nope"):
        factories(["lexicon", "nope"], None, None)
    with pytest.raises(ValueError, match="unknown model.*nope"):
        fit_and_save(stance_pairs, TrainParams(model="nope"), tmp_path / "stance")
    assert not (tmp_path / "stance").exists()


def test_a_directory_that_does_not_hold_what_its_metadata_names_is_refused(stance_pairs, tmp_path):
    with pytest.raises(FileNotFoundError, match="not a stance model"):
        load(tmp_path)
    out = fit_and_save(stance_pairs, TrainParams(model="lexicon"), tmp_path / "stance")
    import joblib

    joblib.dump(TfidfLogReg().fit(stance_pairs), out / ESTIMATOR_FILE)
    with pytest.raises(ValueError, match="holds a TfidfLogReg, not the lexicon"):
        load(out)


def test_train_then_classify_deploys_the_model_params_name(tmp_path, paragraphs, corpus_links, stance_pairs):
    data = tmp_path / "data"
    write_jsonl(data / "paragraphs.jsonl", paragraphs)
    write_jsonl(data / "links.jsonl", corpus_links)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"train": {"model": "lexicon"}}))
    assert cli.main(["train", "--paragraphs", str(data / "paragraphs.jsonl"), "--referral", str(REGISTRY),
                     "--statements", str(GOLD / "statements.yaml"), "--corrections", str(tmp_path / "none"),
                     "--params", str(params), "--out", str(tmp_path / "stance")]) == 0
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
                     "--params", str(tmp_path / "none.yaml"), "--model", "tfidf_logreg",
                     "--out", str(tmp_path / "stance")]) == 0
    assert isinstance(load(tmp_path / "stance"), TfidfLogReg)
