"""The annotator loop: review the model's paragraph-level predictions, correct them, and feed
the corrections into the next training run. The same guidelines apply to corrections as to
the gold data (``labels/ANNOTATION.md``).

* :mod:`.queue`: predictions → :class:`Item` s to review, least certain first (or in document
  order), leaving out those the annotator already decided, so reopening resumes.
* :mod:`.cues` and :mod:`.render`: the item on screen, its stance cues highlighted, every text
  escaped.
* :mod:`.log`: :class:`Decision` and :class:`CorrectionLog`, the annotator's append-only,
  fsynced ``labels/corrections/<annotator>.jsonl``.
* :mod:`.session`: :class:`AnnotationSession`, one annotator working through a queue (what the
  keys call).
* :mod:`.merge`: :func:`merge_training_data`, gold + corrections → the next run's pairs.
* :mod:`.agreement`: Cohen's and Fleiss' kappa per label set, the disagreements listed.
* :mod:`.commands`: ``remiss corrections``; :mod:`.app`: the screen and ``remiss annotate``
  (Voilà; imported on its own, since it needs the notebook stack).
"""
from .agreement import (
                  LABEL_SETS,
                  AgreementReport,
                  agreement,
                  cohen_kappa,
                  fleiss_kappa,
                  format_kappa,
)
from .cues import CueSpan, find_cues, highlight_html
from .log import (
                  ACTIONS,
                  CATEGORIES,
                  NO_PAIR,
                  BadLine,
                  CorrectionLog,
                  Decision,
                  LogRead,
                  check_annotator,
                  decide,
                  predictions_version,
                  read_corrections,
)
from .merge import (
                  Applied,
                  Conflict,
                  MergeResult,
                  Stale,
                  Vote,
                  collect_votes,
                  correction_pairs,
                  merge_training_data,
                  pair_key,
                  resolve,
)
from .queue import ORDERS, Item, Key, build_queue, text_hash
from .render import item_html, rows_html
from .session import KEYS, AnnotationSession

__all__ = [
    "ACTIONS", "CATEGORIES", "KEYS", "LABEL_SETS", "NO_PAIR", "ORDERS", "AgreementReport", "AnnotationSession",
    "Applied", "BadLine", "Conflict", "CorrectionLog", "CueSpan", "Decision", "Item", "Key", "LogRead", "MergeResult",
    "Stale", "Vote", "agreement", "build_queue", "check_annotator", "cohen_kappa", "collect_votes",
    "correction_pairs", "decide", "find_cues", "fleiss_kappa", "format_kappa", "highlight_html", "item_html",
    "merge_training_data", "pair_key", "predictions_version", "read_corrections", "resolve", "rows_html",
    "text_hash",
]
