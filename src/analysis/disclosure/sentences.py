"""Generated sentences checked against the protected tables they talk about.

:func:`check_sentence` lists the problems of a sentence (a number about a hidden group, a
homogeneous result); :func:`safe_text` returns the sentence, or a neutral one in its place.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

import pandas as pd

from analysis.disclosure.protect import ProtectedTable

__all__ = ["check_sentence", "safe_text"]


_HOMOGENEITY = re.compile(
    r"(?<![\d.,])(?:100|0)(?:[.,]0+)?\s?%|\bkhông (?:có )?ai\b|\btất cả (?:mọi )?(?:người|thành viên|hội viên|đoàn viên)\b"
    r"|\bnobody\b|\bno one\b|\beveryone\b|\ball (?:respondents|members)\b",
    re.IGNORECASE,
)


def _mentions(text: str, value: str) -> bool:
    v = unicodedata.normalize("NFC", value).casefold()
    return bool(v) and re.search(rf"(?<!\w){re.escape(v)}(?!\w)", text) is not None


def check_sentence(
    sentence: str,
    protected: ProtectedTable | Sequence[ProtectedTable],
    *,
    labels: Mapping[str, str] | None = None,
) -> list[str]:
    """Problems of a generated sentence against the protected tables it talks about.

    Parameters
    ----------
    sentence : str
    protected : ProtectedTable or sequence of them
    labels : mapping, optional
        Code -> label as written in sentences (e.g. ``{"female": "nữ", "CDVC07": "Cơ sở 07"}``).

    Returns
    -------
    list of str
        Empty when the sentence is safe. A sentence with a number that names a hidden group (all
        of the group's codes or labels), or that states a homogeneous result (0%, 100%,
        "không ai", "tất cả người ...", "nobody") about respondents, is a problem; about units
        (every table ``counts="units"``) a homogeneous result is a published fact.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.disclosure import protect_table
    >>> t = pd.DataFrame({"unit": ["U1", "U2"], "variable": "s", "estimate": [3.0, 4.0], "n": [9, 3]})
    >>> pt = protect_table(t, by="unit")
    >>> check_sentence("Đơn vị U2 đạt 4,0 điểm.", pt)
    ['names a hidden group (unit=U2) and gives a number']
    >>> check_sentence("Đơn vị U1 đạt 3,0 điểm.", pt)
    []
    """
    text = unicodedata.normalize("NFC", sentence).casefold()
    problems: list[str] = []
    labels = dict(labels or {})
    tables = [protected] if isinstance(protected, ProtectedTable) else list(protected)
    has_number = re.search(r"\d", text) is not None
    # "100% of units held the conference" is a fact about units (the follow-up list names
    # them), not an answer that everyone in a group gave: homogeneity is a respondents' risk
    about_respondents = not tables or any(t.counts != "units" for t in tables)
    if about_respondents and _HOMOGENEITY.search(text):
        problems.append("states a homogeneous result (everyone / nobody / 0% / 100%)")
    if has_number:
        for pt in tables:
            t = pt.table
            hid = t[t["suppressed"]]
            for _, row in hid.drop_duplicates(subset=list(pt.by)).iterrows():
                vals = {c: str(row[c]) for c in pt.by if pd.notna(row[c])}
                # a parent (org) is implied by its child (unit): naming the child is enough
                need = {c: v for c, v in vals.items() if c not in pt.parents} or vals
                if need and all(_mentions(text, v) or _mentions(text, labels.get(v, "\0")) for v in need.values()):
                    desc = ", ".join(f"{c}={v}" for c, v in vals.items())
                    msg = f"names a hidden group ({desc}) and gives a number"
                    if msg not in problems:
                        problems.append(msg)
    return problems


def safe_text(
    sentence: str,
    protected: ProtectedTable | Sequence[ProtectedTable],
    *,
    labels: Mapping[str, str] | None = None,
    lang: str = "vi",
) -> str:
    """The sentence if :func:`check_sentence` finds nothing, else a neutral sentence.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.disclosure import protect_table
    >>> t = pd.DataFrame({"unit": ["U1", "U2"], "variable": "s", "estimate": [3.0, 4.0], "n": [9, 3]})
    >>> safe_text("Đơn vị U2 đạt 4,0 điểm.", protect_table(t, by="unit"))
    'Kết quả của nhóm này không được công bố để bảo đảm bí mật cho người trả lời.'
    """
    if not check_sentence(sentence, protected, labels=labels):
        return unicodedata.normalize("NFC", sentence)
    tables = [protected] if isinstance(protected, ProtectedTable) else list(protected)
    if tables and all(t.counts == "units" for t in tables):
        return {
            "vi": "Kết quả của nhóm này không được công bố vì có quá ít cơ sở (tránh suy ra số liệu của từng cơ sở).",
            "en": "This group's result is not published: too few units are behind it (no single unit's figures "
                  "may be inferred).",
        }[lang]
    return {
        "vi": "Kết quả của nhóm này không được công bố để bảo đảm bí mật cho người trả lời.",
        "en": "This group's result is not published, to protect respondents' confidentiality.",
    }[lang]
