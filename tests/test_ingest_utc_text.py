"""convert.utc_text gives the text pandas gives for UTC timestamps (the duplicate check compares it)."""

import pandas as pd
import pytest

from analysis.ingest.convert import utc_text


@pytest.mark.parametrize("values", [
    ["2025-11-03T08:12:34Z", None, "1999-12-31T23:59:59Z"],   # whole seconds, a blank
    ["2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z"],         # all midnight: still date and time
    ["2025-01-01T00:00:00Z", "2025-01-01T00:00:00.5Z"],       # a fraction: pandas' own text
    [None, None],
    [],
])
def test_utc_text_is_pandas_text(values):
    col = pd.Series(pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601", utc=True),
                    index=range(10, 10 + len(values))).astype("datetime64[us, UTC]")
    pd.testing.assert_series_equal(utc_text(col), col.astype("string"))


def test_utc_text_other_resolution_falls_back():
    col = pd.Series(pd.to_datetime(["2025-11-03T08:12:34Z"], utc=True)).astype("datetime64[ns, UTC]")
    pd.testing.assert_series_equal(utc_text(col), col.astype("string"))
