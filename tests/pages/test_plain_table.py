"""ui.widgets.plain_table: a short list drawn as Markdown, imported text kept as text."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.pages.markdown_tables import markdown_table


def _app() -> None:
    import pandas as pd

    from ui.widgets import plain_table

    df = pd.DataFrame(
        {
            "kind": ["A | B", "**bold** [link](http://x)"],
            "subject": ["<script>alert(1)</script>", "line one\nline two"],
            "hidden": [1, 2],
        }
    )
    plain_table(df, {"kind": "What", "subject": "Who"}, file_name="x.csv", key="dl_x", scroll_after=1)
    plain_table(df.iloc[0:0], {"kind": "What"}, file_name="y.csv", key="dl_y", empty_message="Nothing here.")


def test_each_row_shows_its_text_as_written_in_the_named_columns_only():
    at = AppTest.from_function(_app).run()
    assert not at.exception
    table, cells = markdown_table(at, "What")
    lines = table.splitlines()
    assert lines[0] == "| What | Who |" and lines[1] == "|---|---|"
    # a pipe stays inside its cell, Markdown and HTML are escaped, a newline folds to a space
    assert cells == [
        ["A | B", "<script>alert(1)</script>"],
        ["**bold** [link](http://x)", "line one line two"],
    ]
    assert "<script>" not in table and "**bold**" not in table  # escaped, so nothing renders as markup
    assert [b.proto.label for b in at.get("download_button")] == ["Download CSV"]
    assert [i.value for i in at.info] == ["Nothing here."]  # an empty list: the message, no table, no CSV
