"""CSV export that spreadsheet programs cannot turn into formulas."""

from __future__ import annotations

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralize_cell(value: object) -> object:
    """Prefix text that a spreadsheet would read as a formula with a single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_csv(df: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with BOM, so Excel picks the encoding) with every text cell neutralized.

    Numbers stay numbers: a negative z-score is data, not a formula, so only text cells change.
    """
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralize_cell)
    out.columns = [str(neutralize_cell(str(c))) for c in out.columns]
    return out.to_csv(index=False).encode("utf-8-sig")
