"""The briefing deck as plain data, and its export as one self-contained HTML file.

No Streamlit here: the page (pages/briefing.py via ui/briefing.py) renders the same
`Deck` live, and `deck_html` writes it for a laptop with no network. Every piece of
text goes through `html.escape`, so imported names and labels can never become
markup; plotly.js is embedded once, inline, so the file opens offline and its
charts stay interactive. Suppression has already happened when a Deck is built
(values below k never reach it), so the export cannot leak what the page hides.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from data_access.filters import format_date

SUPPRESSED_MARK = "⊘"


def suppressed_text(k: int) -> str:
    """The badge text a suppressed group shows instead of a number (visibly not a zero)."""
    return f"{SUPPRESSED_MARK} suppressed (n < {k})"


def chart_text(value: object) -> str:
    """Imported text for a Plotly label: Plotly reads a subset of HTML in labels, so escape it."""
    return html.escape(str(value), quote=False)


@dataclass(frozen=True)
class Tile:
    """A headline number: label, formatted value, and a sentence on its change."""

    label: str
    value: str
    delta: str | None = None
    tone: str = "neutral"  # good | bad | neutral: colour of the delta, always with words beside it
    help: str = ""
    suppressed: bool = False


@dataclass(frozen=True)
class TableBlock:
    """A table of display text; `data` is what the CSV download holds (may have more rows), or a
    function giving it when the file is asked for."""

    title: str
    frame: pd.DataFrame
    data: pd.DataFrame | Callable[[], pd.DataFrame]
    file_name: str
    note: str = ""
    empty_message: str = ""
    tones: dict[str, str] = field(default_factory=dict)  # cell text -> colour, for status labels


@dataclass(frozen=True)
class ChartBlock:
    """A Plotly figure (None when there is nothing to draw) with its data for download."""

    title: str
    figure: go.Figure | None
    data: pd.DataFrame
    file_name: str
    note: str = ""
    empty_message: str = ""


Block = TableBlock | ChartBlock


@dataclass(frozen=True)
class Slide:
    key: str
    title: str
    question: str
    tiles: tuple[Tile, ...] = ()
    blocks: tuple[Block, ...] = ()
    note: str = ""
    widths: tuple[int, ...] = ()  # relative widths of the blocks side by side; empty = stacked


@dataclass(frozen=True)
class Stamp:
    """What the snapshot shows and how fresh it is: printed on every slide."""

    filters: str
    data_through: date | None
    imported_at: datetime | None

    def text(self) -> str:
        imported = (
            "never"
            if self.imported_at is None
            else f"{format_date(self.imported_at)} {self.imported_at:%H:%M}"
        )
        return f"Snapshot · {self.filters} · data through {format_date(self.data_through)} · last import {imported}"


@dataclass(frozen=True)
class Deck:
    title: str
    slides: tuple[Slide, ...]
    stamp: Stamp


TONE_COLOURS = {"good": "#007a5a", "bad": "#b34700", "neutral": "#4a4a4a"}

CSS = """
*{box-sizing:border-box}
html,body{margin:0;background:#fff;color:#1a1a1a;font-family:system-ui,-apple-system,"Segoe UI",Roboto,
 "Helvetica Neue",Arial,sans-serif}
.slide{min-height:100vh;padding:28px 56px 18px;display:flex;flex-direction:column;gap:20px;
 border-bottom:6px solid #0072B2;page-break-after:always;break-after:page}
.slide header h1{font-size:56px;margin:0;line-height:1.1}
.slide header p{font-size:26px;margin:6px 0 0;color:#444}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:18px}
.tile{border:2px solid #d0d0d0;border-radius:12px;padding:14px 20px}
.tile .label{font-size:24px;color:#333}
.tile .value{font-size:52px;font-weight:700;margin:4px 0}
.tile .delta{font-size:20px}
.blocks{display:grid;gap:28px;align-items:start}
.block h2{font-size:30px;margin:0 0 10px}
.block .note,.slide .note{font-size:20px;color:#444;margin:8px 0 0}
table{border-collapse:collapse;width:100%;font-size:24px}
th{text-align:left;border-bottom:3px solid #333;padding:8px 10px}
td{border-bottom:1px solid #ccc;padding:8px 10px;vertical-align:top}
.badge{display:inline-block;border:2px dashed #777;border-radius:8px;padding:1px 10px;background:#f1f1f1;
 color:#333;font-style:italic;font-size:0.85em;white-space:nowrap}
.empty{font-size:24px;padding:18px;border:2px solid #56B4E9;border-radius:10px;background:#eef7fd}
footer{margin-top:auto;display:flex;justify-content:space-between;gap:24px;font-size:19px;color:#333;
 border-top:2px solid #ddd;padding-top:10px}
@media print{.slide{min-height:auto}}
"""

# Arrow keys / PageUp / PageDown move between slides in the exported file (constant code, no data).
NAV_JS = """
(function(){
  var slides=[].slice.call(document.querySelectorAll('section.slide'));
  function current(){var y=window.scrollY+10,i=0;slides.forEach(function(s,j){if(s.offsetTop<=y)i=j;});return i;}
  document.addEventListener('keydown',function(e){
    var d={ArrowRight:1,ArrowDown:1,PageDown:1,' ':1,ArrowLeft:-1,ArrowUp:-1,PageUp:-1}[e.key];
    if(!d)return; e.preventDefault();
    var i=Math.max(0,Math.min(slides.length-1,current()+d)); slides[i].scrollIntoView();
  });
})();
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _cell(value: object, tones: dict[str, str]) -> str:
    text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
    if text.startswith(SUPPRESSED_MARK):
        return f'<span class="badge">{_e(text)}</span>'
    colour = tones.get(text)
    if colour:
        return f'<span style="color:{_e(colour)};font-weight:600">{_e(text)}</span>'
    return _e(text)


def _table(block: TableBlock) -> str:
    if block.frame.empty:
        return f'<div class="empty">{_e(block.empty_message)}</div>'
    head = "".join(f"<th>{_e(c)}</th>" for c in block.frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_cell(v, block.tones)}</td>" for v in row) + "</tr>"
        for row in block.frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _chart(block: ChartBlock, div_id: str) -> str:
    if block.figure is None:
        return f'<div class="empty">{_e(block.empty_message)}</div>'
    fig = go.Figure(block.figure)
    fig.update_layout(template="plotly_white", height=None, autosize=True, paper_bgcolor="#fff")
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        default_width="100%",
        default_height="500px",
        config={"displaylogo": False, "responsive": True},
    )


def _tile(t: Tile) -> str:
    value = f'<span class="badge">{_e(t.value)}</span>' if t.suppressed else _e(t.value)
    delta = (
        f'<div class="delta" style="color:{TONE_COLOURS.get(t.tone, TONE_COLOURS["neutral"])}">{_e(t.delta)}</div>'
        if t.delta
        else ""
    )
    return f'<div class="tile" title="{_e(t.help)}"><div class="label">{_e(t.label)}</div><div class="value">{value}</div>{delta}</div>'


def _slide(slide: Slide, number: int, total: int, stamp: Stamp) -> str:
    parts = [
        f'<section class="slide" id="slide-{number}" data-key="{_e(slide.key)}">',
        f"<header><h1>{_e(slide.title)}</h1><p>{_e(slide.question)}</p></header>",
    ]
    if slide.tiles:
        parts.append('<div class="tiles">' + "".join(_tile(t) for t in slide.tiles) + "</div>")
    if slide.blocks:
        widths = slide.widths if len(slide.widths) == len(slide.blocks) else (1,) * len(slide.blocks)
        columns = " ".join(f"{int(w)}fr" for w in widths) if slide.widths else "1fr"
        parts.append(f'<div class="blocks" style="grid-template-columns:{columns}">')
        for i, block in enumerate(slide.blocks):
            body = (
                _table(block) if isinstance(block, TableBlock) else _chart(block, f"chart-{number}-{i + 1}")
            )
            note = f'<p class="note">{_e(block.note)}</p>' if block.note else ""
            parts.append(f'<div class="block"><h2>{_e(block.title)}</h2>{body}{note}</div>')
        parts.append("</div>")
    if slide.note:
        parts.append(f'<p class="note">{_e(slide.note)}</p>')
    parts.append(f"<footer><span>{_e(stamp.text())}</span><span>Slide {number} of {total}</span></footer>")
    parts.append("</section>")
    return "\n".join(parts)


def deck_html(deck: Deck) -> str:
    """The whole deck as one HTML document: plotly.js inline once, no external resources."""
    total = len(deck.slides)
    body = "\n".join(_slide(s, i + 1, total, deck.stamp) for i, s in enumerate(deck.slides))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(deck.title)} · {_e(deck.stamp.filters)}</title>"
        f"<style>{CSS}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script>'
        "</head><body>\n"
        f"{body}\n"
        f"<script>{NAV_JS}</script>"
        "</body></html>\n"
    )
