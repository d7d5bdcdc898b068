"""``remiss corrections``: what the corrections would change in the next training run, and how
well the annotators agree."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from ..records import Paragraph
from .agreement import agreement
from .merge import merge_training_data


def corrections_main(argv: Sequence[str] | None = None) -> int:
    """``remiss corrections``: what the corrections would change in the next training run,
    and how well the annotators agree."""
    parser = argparse.ArgumentParser(prog="remiss corrections", description=corrections_main.__doc__)
    add_corrections_args(parser)
    return corrections_cmd(parser.parse_args(argv))


def add_corrections_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corrections", type=Path, default=Path("labels/corrections"),
                   help="folder of <annotator>.jsonl correction files")
    p.add_argument("--paragraphs", type=Path, default=Path("data/paragraphs.jsonl"))
    p.add_argument("--referral", type=Path, required=True, help="registry YAML of the referral's targets")
    p.add_argument("--statements", type=Path, default=Path("labels/gold/statements.yaml"), help="gold statements")
    p.add_argument("--out", type=Path, default=None, help="write the merged training pairs here (JSON Lines)")


def corrections_cmd(args: argparse.Namespace) -> int:
    from ..gold import load_statements
    from ..records import read_jsonl, write_jsonl
    from ..referral import load_referral
    from ..stance.data import gold_pairs

    referral = load_referral(args.referral)
    paragraphs = read_jsonl(args.paragraphs, Paragraph)
    gold = gold_pairs(load_statements(args.statements), paragraphs, referral)
    merged = merge_training_data(gold, args.corrections, paragraphs, referral)
    report = agreement(args.corrections, paragraphs, referral)
    print("== merge ==")
    print(merged.summary())
    print("== agreement ==")
    print(report.summary())
    for row in report.disagreements:
        print(f"  {row['doc']} {row['paragraph']} {row['target']}: {row['labels']}")
    if args.out:
        write_jsonl(args.out, merged.pairs)
        print(f"wrote {len(merged.pairs)} pairs → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(corrections_main())
