"""Reading back the Markdown tables ui.widgets.plain_table writes, from an AppTest run."""

from __future__ import annotations

import re

_CELL_BORDER = re.compile(r"(?<!\\)\|")  # a pipe not escaped by plain_md
_ESCAPE = re.compile(r"\\(.)")


def markdown_table(at, first_header: str) -> tuple[str, list[list[str]]]:
    """The Markdown table whose first header is `first_header`: its text as sent, and its body rows
    (after the header and the |---| line) as cells with plain_md's escapes undone."""
    text = next(m.value for m in at.markdown if m.value.startswith(f"| {first_header} |"))
    rows = [
        [_ESCAPE.sub(r"\1", c).strip() for c in _CELL_BORDER.split(line.strip())[1:-1]]
        for line in text.splitlines()[2:]
    ]
    return text, rows
