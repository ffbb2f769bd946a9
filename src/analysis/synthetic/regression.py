"""A linear-regression sample on a stratified design, for the survey-regression benchmark
(`scripts/bench.py`, "survey regression") and its large-n test (SYNTHETIC DATA).

``n`` respondents in ``n // 1000`` units (the strata, fpc = five times the unit's
respondents), ``y = 1 + 0.5 x + e`` with standard normal ``x`` and ``e``, and a two-level
``g`` (every third unit "a") with raking targets 1.7n and 3.3n.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["regression_sample"]


def regression_sample(n: int, seed: int = 3) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """``(data, margins)``: columns ``unit, unit_size, x, g, y`` and the raking targets of ``g``.

    >>> data, margins = regression_sample(2000)
    >>> data.columns.tolist(), margins
    (['unit', 'unit_size', 'x', 'g', 'y'], {'g': {'a': 3400.0, 'b': 6600.0}})
    """
    rng = np.random.default_rng(seed)
    n_units = max(1, n // 1000)
    unit = rng.integers(0, n_units, n)
    x = rng.normal(size=n)
    data = pd.DataFrame({"unit": unit, "unit_size": np.bincount(unit, minlength=n_units)[unit] * 5, "x": x,
                         "g": np.where(unit % 3 == 0, "a", "b"), "y": 1 + 0.5 * x + rng.normal(size=n)})
    return data, {"g": {"a": 1.7 * n, "b": 3.3 * n}}
