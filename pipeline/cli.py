"""The ``remiss`` command: the registry of subcommands. Each stage module holds its pure
function over records and its thin command (arguments, files in, files out); this module only
dispatches, so that a stage's code dependencies can be followed from the stage itself."""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Callable

from .aggregate import aggregate_args, aggregate_cmd
from .annotation.app import annotate_args, annotate_cmd
from .annotation.commands import add_corrections_args, corrections_cmd
from .classify import classify_args, classify_cmd
from .evaluate import evaluate_args, evaluate_cmd
from .ingest import ingest_args, ingest_cmd
from .link import link_args, link_cmd
from .referral.draft import registry_args, registry_cmd
from .report import report_args, report_cmd
from .score import score_args, score_cmd
from .segment import segment_args, segment_cmd
from .stance.train import train_args, train_cmd

log = logging.getLogger("remiss")
Command = Callable[[argparse.Namespace], int]
Configure = Callable[[argparse.ArgumentParser], None]


#: subcommand → (help, arguments, run); a new stage is one entry
COMMANDS: dict[str, tuple[str, Configure, Command]] = {
    "ingest": ("response files → clean text", ingest_args, ingest_cmd),
    "segment": ("clean text → paragraphs", segment_args, segment_cmd),
    "link": ("paragraphs → target links", link_args, link_cmd),
    "train": ("gold statements + corrections → fine-tuned stance model", train_args, train_cmd),
    "classify": ("links → paragraph-level stance predictions", classify_args, classify_cmd),
    "aggregate": ("predictions → document × target cells", aggregate_args, aggregate_cmd),
    "report": ("cells → remissammanställning (CSV, XLSX, HTML, heatmap)", report_args, report_cmd),
    "evaluate": ("leave-one-document-out cross-validation of every model → metrics/", evaluate_args, evaluate_cmd),
    "score": ("response files → everything above, resumable, without DVC (batch scoring)", score_args, score_cmd),
    "registry": ("draft a referral's registry of targets for review", registry_args, registry_cmd),
    "corrections": ("what annotators' corrections change, and their agreement", add_corrections_args,
                    corrections_cmd),
    "annotate": ("the annotator's screen as an app on localhost (Voilà): review, correct, retrain", annotate_args,
                 annotate_cmd),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="remiss", description="Stance analysis of Swedish consultation responses.")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help, configure, func) in COMMANDS.items():
        p = sub.add_parser(name, help=help, description=help)
        configure(p)
        p.set_defaults(func=func)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(levelname)s %(message)s")
    try:
        return args.func(args)
    except (OSError, ValueError) as err:
        # a clear one-line message naming the file; nothing written so far is touched
        log.error("%s", err)
        return 2


if __name__ == "__main__":
    sys.exit(main())
