"""Data layer: no Streamlit here. Connection, schema, importer, Filters, queries, metric registry."""

import pandas as pd

# Text columns keep pandas' `str` dtype (same missing-value rules, same .str methods) with the
# strings held as Python objects instead of in pyarrow arrays. Every frame here is small (at most
# a few thousand rows) and a page masks, sorts and slices them dozens of times a rerun; on a
# pyarrow-backed column each of those steps is a pyarrow compute call (~0.4 ms), on Python storage
# a numpy take (about half). Bench at S and M: Feedback's community tab rerun about 15 % faster,
# its cached rerun about 30 %. Set once for the process: the app, the tests and the bench all
# import this package first.
pd.set_option("mode.string_storage", "python")
