"""`remiss train`: fit the model params.yaml ``train.model`` names on every labelled pair.

The training data are the authored rows (labels/authored), the gold statements and the
annotators' corrections (:func:`pipeline.annotation.merge.merge_training_data`).
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

log = logging.getLogger(__name__)


from dataclasses import dataclass
from typing import Sequence

from .data import Pair
from .params import TrainParams


@dataclass(frozen=True)
class TrainingData:
    #: one pair per gold statement (labels/gold)
    gold: list[Pair]
    #: annotators' corrections, merged with gold (gold wins; conflicts resolved, stale ones left out)
    corrections: list[Pair]
    #: the team's rows on other referrals (labels/authored)
    authored: list[Pair]

    @property
    def pairs(self) -> list[Pair]:
        """Everything a deployed model learns from."""
        return [*self.authored, *self.gold, *self.corrections]


def training_data(statements: Path, corrections: Path, authored: Path, paragraphs: Sequence, referral) -> TrainingData:
    """The gold pairs, the annotators' corrections (:func:`pipeline.annotation.merge.merge_training_data`)
    and the authored pairs."""
    from ..annotation.merge import merge_training_data
    from ..gold import load_statements
    from .authored import authored_pairs, load_authored
    from .data import gold_pairs

    gold = gold_pairs(load_statements(statements), paragraphs, referral)
    merged = merge_training_data(gold, corrections, paragraphs, referral)
    for line in merged.summary().splitlines():
        log.info("%s", line)
    rows = authored_pairs(load_authored(authored))
    log.info("%d authored rows from %s", len(rows), authored)
    return TrainingData(gold=gold, corrections=list(merged.corrections), authored=rows)


# --- CLI ---------------------------------------------------------------------------------------

def add_data_args(p: argparse.ArgumentParser) -> None:
    """The training data's inputs, shared by `remiss train` and `remiss evaluate`."""
    p.add_argument("--paragraphs", type=Path, default=Path("data/paragraphs.jsonl"))
    p.add_argument("--referral", type=Path, required=True, help="registry YAML of the referral's targets")
    p.add_argument("--statements", type=Path, default=Path("labels/gold/statements.yaml"), help="gold statements")
    p.add_argument("--corrections", type=Path, default=Path("labels/corrections"),
                   help="folder of annotators' <name>.jsonl corrections (missing: none)")
    p.add_argument("--authored", type=Path, default=Path("labels/authored"),
                   help="folder of the team's training rows on other referrals (parts/*.jsonl; missing: none)")
    p.add_argument("--params", type=Path, default=Path("params.yaml"), help="reads its 'train' section")
    p.add_argument("--backbone", default=None, help="override train.backbone (hub id, local dir, bundled:…)")
    p.add_argument("--models-dir", type=Path, default=Path("models"), help="cache of converted backbones")


def train_args(p: argparse.ArgumentParser) -> None:
    from .models import MODELS

    add_data_args(p)
    p.add_argument("--model", default=None, help=f"override train.model: {', '.join(MODELS)}")
    p.add_argument("--out", type=Path, default=Path("models/stance"), help="the fitted model's directory")
    p.add_argument("--metrics", type=Path, default=Path("metrics/stance.json"),
                   help="`remiss evaluate`'s summary; train.model 'auto' deploys the model evaluate.deploy_by ranks first")


#: train.model's value for "the model the evaluation ranks first"
AUTO = "auto"


def chosen_model(params_path: Path, metrics: Path) -> str:
    """The model params.yaml's ``evaluate.deploy_by`` ranks first in ``metrics``."""
    import json

    from ..evaluate import EvaluateParams, deploy_choice
    from ..params import load_section

    if not Path(metrics).exists():
        raise FileNotFoundError(f"{metrics}: train.model is {AUTO!r}, which needs `remiss evaluate`'s summary; "
                                f"run the evaluate stage first, or name a model (--model)")
    rules = load_section(params_path, "evaluate", EvaluateParams)
    name = deploy_choice(json.loads(Path(metrics).read_text(encoding="utf-8")), rules.deploy_by, list(rules.deploy_from))
    log.info("train.model %s: %s ranks first by %s in %s", AUTO, name, rules.deploy_by, metrics)
    return name


def train_cmd(args: argparse.Namespace) -> int:
    from ..params import load_section
    from ..records import Paragraph, read_jsonl
    from ..referral import load_referral
    from .models import fit_and_save

    params = load_section(args.params, "train", TrainParams, backbone=args.backbone, model=args.model)
    if params.model == AUTO:
        params = dataclasses.replace(params, model=chosen_model(args.params, args.metrics))
    data = training_data(args.statements, args.corrections, args.authored, read_jsonl(args.paragraphs, Paragraph),
                         load_referral(args.referral))
    fit_and_save(data.pairs, params, args.out, args.models_dir)
    return 0
