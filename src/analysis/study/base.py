"""What every recipe shares: the table columns, the respondent roles and the significance rule."""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "ROLE_COLUMNS",
    "WAVE",
    "FLAGGED",
    "ALPHA",
    "STAT_COLUMNS",
    "by_columns",
    "wave_rows",
    "significance_label",
    "significant_rows",
    "in_vietnamese",
]


#: Canonical respondent columns, named by the role their item plays in the instrument.
ROLE_COLUMNS: tuple[str, ...] = ("org", "unit", "sex", "age_group", "party", "education", "theory", "position")


#: The wave column of every table (as `analysis.disclosure`'s policy expects).
WAVE = "wave"


#: Rows with any import quality flag (``_flag_*``): kept, and reported with and without.
FLAGGED = "flagged"


#: Significance level applied to BH-adjusted p-values.
ALPHA = 0.05


STAT_COLUMNS = ["estimate", "se", "ci_low", "ci_high", "n", "deff"]


def by_columns(by: str | Sequence[str] | None) -> list[str]:
    return [] if by is None else ([by] if isinstance(by, str) else list(by))


def wave_rows(data: pd.DataFrame, wave: str) -> pd.DataFrame:
    """The rows of *data* in *wave*, in their order.

    `analysis.study.data.load_responses` stacks the waves one after the other, so a wave is a
    run of rows: a slice of it copies nothing, where a mask copies every column (for the ~60
    text columns of 963 thousand respondents, 2.8 s of three waves' designs). Rows of a wave
    that are not one run are taken with the mask.

    >>> df = pd.DataFrame({"wave": ["a", "a", "b", "a"], "x": [1, 2, 3, 4]})
    >>> wave_rows(df, "b")["x"].tolist(), wave_rows(df, "a")["x"].tolist(), len(wave_rows(df, "c"))
    ([3], [1, 2, 4], 0)
    """
    rows = np.flatnonzero(data[WAVE].to_numpy() == wave)
    if len(rows) and rows[-1] - rows[0] + 1 == len(rows):
        return data.iloc[rows[0]:rows[-1] + 1]
    return data.iloc[rows]


def significance_label(p_adjusted: float, difference: float, *, lang: str = "vi", alpha: float = ALPHA) -> str:
    """Plain words for a BH-adjusted test: increase, decrease or no significant change.

    Examples
    --------
    >>> significance_label(0.001, -0.3)
    'giảm có ý nghĩa'
    """
    words = {"vi": ("tăng có ý nghĩa", "giảm có ý nghĩa", "không thay đổi có ý nghĩa", "không so sánh được"),
             "en": ("significant increase", "significant decrease", "no significant change", "not comparable")}[lang]
    if p_adjusted is None or pd.isna(p_adjusted) or pd.isna(difference):
        return words[3]
    if p_adjusted < alpha:
        return words[0] if difference > 0 else words[1]
    return words[2]


def significant_rows(rows: pd.DataFrame) -> pd.Series:
    """The ``significant`` flag, False for hidden rows and where missing (e.g. read from CSV)."""
    sig = rows["significant"].map(lambda v: v is True or str(v).lower() == "true")
    if "suppressed" in rows.columns:
        sig &= ~rows["suppressed"].map(lambda v: v is True or str(v).lower() == "true")
    return sig


_VI_LETTERS = re.compile("[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.I)


def in_vietnamese(sentence: str) -> bool:
    """True when *sentence* has a letter only Vietnamese uses (a sentence of the vi report)."""
    return bool(_VI_LETTERS.search(sentence))
