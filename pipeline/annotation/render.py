"""HTML for the screens: one item, and a table of rows (no pandas needed); every text escaped."""
from __future__ import annotations

import html
from typing import Sequence

from ..records import LABELS
from ..report import COLOURS
from .cues import highlight_html
from .queue import Item


def item_html(item: Item) -> str:
    """One item as the notebook shows it: heading, target, highlighted text, prediction (each
    label with its key and probability)."""
    bars = "".join(
        f"<tr><td><b>{n}</b> {html.escape(label)}</td><td style='width:12em'><div style='height:0.8em;"
        f"background:{COLOURS[label][0]};width:{100 * float(item.probs.get(label, 0.0)):.0f}%'></div></td>"
        f"<td>{float(item.probs.get(label, 0.0)):.2f}</td></tr>" for n, label in enumerate(LABELS, 1))
    section = f"<div style='color:#666'>§ {html.escape(item.section)}</div>" if item.section else ""
    return (f"<div style='font-family:sans-serif'>"
            f"<div><b>{html.escape(item.doc)}</b> · {html.escape(item.paragraph)} · speaker: "
            f"{html.escape(item.speaker or '?')}</div>{section}"
            f"<div>Target <b>{html.escape(item.target)}</b>: {html.escape(item.target_title)}</div>"
            f"<blockquote style='border-left:3px solid #ccc;padding-left:0.8em'>"
            f"{highlight_html(item.text, item.cues)}</blockquote>"
            f"<div>Predicted: <b>{html.escape(item.stance)}</b> (margin {item.margin:.2f})</div>"
            f"<table>{bars}</table></div>")


def rows_html(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    """A list of dicts as an HTML table (for the notebooks; no pandas needed)."""
    if not rows:
        return "<p><i>(none)</i></p>"
    columns = list(columns or rows[0].keys())
    head = "".join(f"<th style='text-align:left'>{html.escape(str(c))}</th>" for c in columns)

    def cell(value) -> str:
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        elif isinstance(value, float):
            value = f"{value:.3f}"
        return f"<td style='text-align:left;vertical-align:top'>{html.escape(str(value))}</td>"
    body = "".join("<tr>" + "".join(cell(r.get(c, "")) for c in columns) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"
