"""Imported text made safe for Streamlit elements that render Markdown.

Captions, metric labels, st.markdown and st.table all render Markdown (and Streamlit's
directives such as :red[..] and :material/..:). Names, file names and identities come
from imports or from a proxy, so they are escaped before they reach such an element.
"""

from __future__ import annotations

import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def plain_md(text: object) -> str:
    """Every Markdown/directive character backslash-escaped and newlines folded, so text never
    becomes a link, image, colour, icon, list or heading."""
    flat = "" if text is None else str(text).replace("\r", " ").replace("\n", " ")
    return _MD_SPECIAL.sub(r"\\\1", flat)


def shorten(text: str, n: int) -> str:
    """At most n characters: a longer text keeps its start and its last word (what often tells
    similar names apart: a number, a neighbourhood) around an ellipsis."""
    if len(text) <= n:
        return text
    tail = text[-(n // 3) :]
    tail = tail[tail.index(" ") + 1 :] if " " in tail else ""
    if not tail:
        return text[: n - 1].rstrip() + "…"
    return text[: n - 2 - len(tail)].rstrip() + "… " + tail
