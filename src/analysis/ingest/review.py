"""Review status set on the data-collection server: which submissions are rejected
(quarantined) and which are kept but flagged, as `ReviewPolicy` (``review:`` in wave.yaml).

KoboToolbox exports ``_validation_status`` (``validation_status_approved`` /
``validation_status_not_approved`` / ``validation_status_on_hold``, or the labels "Approved",
"Not Approved", "On Hold"); ODK Central exports ``ReviewState`` (blank = received,
``hasIssues``, ``edited``, ``approved``, ``rejected``). A state is matched without case,
spaces, underscores or Kobo's ``validation_status_`` prefix, so a policy may use any spelling.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

__all__ = ["ReviewPolicy", "DEFAULT_REVIEW", "review_key", "KNOWN_STATES"]

_PREFIX = re.compile(r"^validation_status_", re.IGNORECASE)
_NOT_ALNUM = re.compile(r"[^0-9a-z]")

#: Every state Kobo or Central writes (as `review_key`s), so an unexpected one is reported.
KNOWN_STATES = frozenset({"received", "hasissues", "edited", "approved", "rejected", "notapproved", "onhold"})


def review_key(state: str) -> str:
    """Matching key of a review state.

    Examples
    --------
    >>> review_key("validation_status_not_approved") == review_key("Not Approved") == "notapproved"
    True
    >>> review_key("hasIssues")
    'hasissues'
    """
    return _NOT_ALNUM.sub("", _PREFIX.sub("", str(state).strip()).casefold())


def _keys(values: pd.Series) -> pd.Series:
    """`review_key` of every value, vectorised (blank stays NA)."""
    s = values.astype("string").str.strip()
    s = s.where(s != "", pd.NA)
    return s.str.replace(_PREFIX, "", regex=True).str.casefold().str.replace(_NOT_ALNUM, "", regex=True)


@dataclass(frozen=True)
class ReviewPolicy:
    """States whose submissions are quarantined (``reject``) or kept and flagged (``flag``)."""

    reject: tuple[str, ...] = ("rejected", "validation_status_not_approved")
    flag: tuple[str, ...] = ("hasIssues", "validation_status_on_hold")

    @classmethod
    def from_mapping(cls, data: object, *, where: str = "wave.yaml") -> "ReviewPolicy":
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: review must be a mapping like {{reject: [rejected], flag: [hasIssues]}}, "
                             f"not {data!r}")
        unknown = sorted(set(data) - {"reject", "flag"})
        if unknown:
            raise ValueError(f"{where}: review has unknown key(s) {unknown}; allowed: reject, flag")
        lists = {}
        for k in ("reject", "flag"):
            v = data.get(k, [])
            v = [] if v is None else v
            listed = isinstance(v, (list, tuple)) and all(isinstance(s, str) and s.strip() for s in v)
            if not listed:
                raise ValueError(f"{where}: review.{k} must be a list of review states (e.g. [rejected]), not {v!r}")
            lists[k] = tuple(s.strip() for s in v)
        both = sorted({review_key(s) for s in lists["reject"]} & {review_key(s) for s in lists["flag"]})
        if both:
            raise ValueError(f"{where}: review state(s) {both} are both in review.reject and review.flag: "
                             f"keep each in one")
        return cls(reject=lists["reject"], flag=lists["flag"])

    def to_mapping(self) -> dict:
        return {"reject": list(self.reject), "flag": list(self.flag)}

    def describe(self) -> tuple[str, str]:
        """The policy as one line (English, Vietnamese) for the import summary."""
        rej = ", ".join(self.reject) or "none"
        flg = ", ".join(self.flag) or "none"
        return (f"review status: quarantined if {rej}; kept and flagged (_flag_review) if {flg}",
                f"trạng thái duyệt: tạm giữ nếu {rej if self.reject else 'không có'}; "
                f"giữ lại và đánh dấu (_flag_review) nếu {flg if self.flag else 'không có'}")

    def classify(self, states: pd.Series) -> tuple[pd.Series, pd.Series, list[str]]:
        """(rejected, flagged, unknown states seen) for a column of review states (None = not reviewed)."""
        keys = _keys(states)
        rejected = keys.isin([review_key(s) for s in self.reject]).fillna(False).astype(bool)
        flagged = keys.isin([review_key(s) for s in self.flag]).fillna(False).astype(bool)
        listed = KNOWN_STATES | {review_key(s) for s in (*self.reject, *self.flag)}
        given = keys.notna()
        unknown = sorted(set(states[given & ~keys.isin(listed).fillna(False)].astype(str).str.strip()))
        return rejected, flagged, unknown


DEFAULT_REVIEW = ReviewPolicy()
