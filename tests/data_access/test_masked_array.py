"""feedback.masked_array: the nullable columns of the Feedback frames, the same arrays pd.array makes."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from data_access.feedback import masked_array


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        ([1, None, 3, 0], "Int64"),
        ([None, None], "Int64"),
        ([], "Int64"),
        ([1.5, None, float("nan"), -2.25, 0.0], "Float64"),
        ([pd.NA, 4.0], "Float64"),
        ([], "Float64"),
    ],
)
def test_the_same_array_as_pd_array(values, dtype):
    got = masked_array(values, dtype)
    want = pd.array(values, dtype=dtype)
    assert str(got.dtype) == dtype
    pd.testing.assert_extension_array_equal(got, want)
    # missing exactly where the value was None, NaN or NA
    assert [bool(m) for m in got.isna()] == [
        v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) for v in values
    ]


def test_only_the_nullable_number_types():
    with pytest.raises(ValueError, match="dtype"):
        masked_array([1], "boolean")
