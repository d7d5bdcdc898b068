"""train/predict: a tiny random BERT goes through exactly the code KB-BERT goes through."""
from __future__ import annotations

import json

import pytest
from sklearn.exceptions import NotFittedError

from pipeline.records import LABELS
from pipeline.stance.transformer import StanceModel, TransformerClassifier, class_weights, train
from pipeline.stance.meta import META_FILE
from pipeline.stance.params import TrainParams
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def tiny_params(tiny_bert):
    return TrainParams(backbone=str(tiny_bert), epochs=30, batch_size=8, learning_rate=3e-3, max_length=128,
                       freeze_embeddings=False, freeze_layers=0)


@pytest.fixture(scope="module")
def batch(stance_pairs):
    return [p for label in LABELS for p in [q for q in stance_pairs if q.label == label][:4]]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, batch, tiny_params):
    return train(batch, tiny_params, tmp_path_factory.mktemp("stance") / "model")


def test_class_weights_balance_the_labels():
    weights = dict(zip(LABELS, class_weights(["support"] * 6 + ["oppose"] * 2 + ["hesitant"])))
    assert weights["support"] == pytest.approx(9 / (3 * 6)) and weights["hesitant"] == pytest.approx(3.0)
    assert weights["neutral"] == 1.0  # absent: no effect


def test_loss_falls_on_a_small_batch(trained):
    epochs = json.loads((trained / META_FILE).read_text())["epochs"]
    losses = [e["loss"] for e in epochs if "loss" in e]
    assert len(losses) >= 10 and losses[-1] < 0.7 * losses[0]


def test_saved_model_has_standard_artefacts_and_provenance(trained, batch, tiny_bert):
    assert (trained / "config.json").exists() and (trained / "model.safetensors").exists()
    assert (trained / "tokenizer.json").exists()
    meta = json.loads((trained / META_FILE).read_text())
    assert meta["labels"] == list(LABELS) and meta["backbone"] == str(tiny_bert)
    assert meta["n_pairs"] == len(batch) and len(meta["data_hash"]) == 64
    config = json.loads((trained / "config.json").read_text())
    assert {int(k): v for k, v in config["id2label"].items()} == dict(enumerate(LABELS))


def test_save_then_load_predicts_the_same(trained, batch):
    first, second = StanceModel.load(trained, device="cpu"), StanceModel.load(trained, device="cpu")
    a, b = first.predict(batch, batch_size=3), second.predict(batch, batch_size=16)
    assert [p.label for p in a] == [p.label for p in b]
    for x, y in zip(a, b):
        assert x.probs == pytest.approx(y.probs, abs=1e-5)
    fitted = sum(p.label == q.label for p, q in zip(a, batch)) / len(batch)
    assert fitted >= 0.75, "a tiny BERT should learn 16 examples by heart"


def test_prediction_accepts_plain_text_pairs(trained, batch):
    model = StanceModel.load(trained, device="cpu")
    assert model.predict([batch[0].text_pair])[0].probs == pytest.approx(model.predict([batch[0]])[0].probs, abs=1e-6)
    assert model.predict([]) == []


def test_a_failed_training_leaves_the_previous_model(trained, batch, tiny_params):
    before = (trained / "model.safetensors").read_bytes()
    with pytest.raises(ValueError):
        train([*batch[:2], batch[2].__class__(**{**batch[2].__dict__, "label": "kanske"})], tiny_params, trained)
    assert (trained / "model.safetensors").read_bytes() == before


def test_the_transformer_fits_and_predicts_like_a_baseline(batch, tiny_params):
    model = TransformerClassifier(params=tiny_params)
    with pytest.raises(NotFittedError):
        model.predict(batch)
    predictions = model.fit(batch).predict(batch)
    assert len(predictions) == len(batch) and all(p.label in LABELS for p in predictions)


def test_a_model_directory_without_metadata_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a stance model"):
        StanceModel.load(tmp_path)


def test_the_model_code_loads_without_spacy():
    # a lent GPU machine has torch and transformers but not spaCy (bench/gpu.py and bench/gpu_cv.py run there)
    import subprocess
    import sys

    code = ("import sys; import pipeline.stance.transformer, pipeline.stance.train, bench.gpu_cv; "
            "sys.exit('spacy' in sys.modules or 'datasets' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=str(ROOT)).returncode == 0
