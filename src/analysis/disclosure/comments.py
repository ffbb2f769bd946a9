"""Screening of free-text answers before any is quoted in a report.

Import :func:`screen_comments` and :func:`write_withheld` from :mod:`analysis.disclosure`.
Comments are NFC-normalised first (exports from phones and Windows often arrive in NFD, where
"ễ" is three code points and a plain pattern would miss "Nguyễn"); Vietnamese diacritics are kept
for names ("Hùng" is not "Hưng"), and codes are also compared without diacritics, spaces and
leading zeros ("CĐVC 07", "cdvc-7" and "CDVC07" are the same unit).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import config
from analysis.disclosure.policy import DisclosureError, DisclosurePolicy, load_policy

__all__ = ["screen_comments", "write_withheld", "WITHHELD_COLUMNS"]

#: Columns added to the withheld comments (after the input columns).
WITHHELD_COLUMNS = ["reason", "match"]

_WORD = re.compile(r"\w+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# 0 or +84/84, then 8–10 more digits, each optionally preceded by a space, dot or dash
_PHONE = re.compile(r"(?<![\w+])(?:\+\s?84|84|0)(?:[\s.\-]?\d){8,10}(?!\d)")


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def _fold(s: str) -> str:
    """Lower case without diacritics (đ -> d); for codes and agency names only."""
    s = unicodedata.normalize("NFD", s)
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    return s.replace("đ", "d").replace("Đ", "D").casefold()


def _is_phone(match: str) -> bool:
    digits = re.sub(r"\D", "", match)
    if digits.startswith("84") and not match.lstrip().startswith("0"):
        digits = "0" + digits[2:]
    mobile = len(digits) == 10 and digits[1] in "35789"
    landline = len(digits) == 11 and digits[1] == "2"
    return mobile or landline


def _is_capitalised(word: str) -> bool:
    return word.isalpha() and word[0].isupper() and (len(word) == 1 or word[1:].islower())


@dataclass(frozen=True)
class _NameRules:
    """The policy's words for `_names`, prepared once per screening (not once per comment)."""

    allow: tuple[str, ...]  # NFC, longest first
    titles: tuple[str, ...]  # NFC, case-folded, longest first
    single_titles: frozenset[str]
    surnames: frozenset[str]  # folded: also without diacritics ("Nguyen Hung" typed without Telex)

    @classmethod
    def of(cls, policy: DisclosurePolicy) -> _NameRules:
        titles = tuple(sorted({_nfc(t).casefold() for t in policy.comment_titles}, key=len, reverse=True))
        return cls(tuple(_nfc(p) for p in sorted(policy.comment_allow, key=len, reverse=True)), titles,
                   frozenset(t for t in titles if " " not in t), frozenset(_fold(s) for s in policy.comment_surnames))


def _names(text: str, rules: _NameRules) -> list[str]:
    """Capitalised runs that look like a person's name (see the rules in screen_comments)."""
    for phrase in rules.allow:
        text = text.replace(phrase, " ~ " * len(phrase.split()))
    titles, single_titles, surnames = rules.titles, rules.single_titles, rules.surnames
    words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]
    runs: list[list[tuple[str, int, int]]] = []
    for w in words:
        if _is_capitalised(w[0]) and runs and runs[-1] and text[runs[-1][-1][2]:w[1]].isspace():
            runs[-1].append(w)
        elif _is_capitalised(w[0]):
            runs.append([w])
    found = []
    for run in runs:
        tokens = [w for w, _, _ in run]
        before = text[: run[0][1]].casefold().rstrip()
        after_title = any(before.endswith(t) and (len(before) == len(t) or not before[-len(t) - 1].isalnum())
                          for t in titles)
        if (
            (_fold(tokens[0]) in surnames and len(tokens) >= 2)
            or (tokens[0].casefold() in single_titles and len(tokens) >= 2)
            or len(tokens) >= 3
            or after_title
        ):
            found.append(text[run[0][1]: run[-1][2]])
    return found


class _LazyPattern:
    """A regular expression compiled when first searched: of a national frame's 20 thousand
    identifier patterns a comment screen tries a few hundred (`_IdentifierIndex`), and compiling
    them all took 4.7 s."""

    def __init__(self, source: str):
        self.source = source
        self._compiled: re.Pattern | None = None

    def search(self, text: str) -> re.Match | None:
        if self._compiled is None:
            self._compiled = re.compile(self.source)
        return self._compiled.search(text)


def _identifier_patterns(identifiers: Iterable[str]) -> list[tuple[str, _LazyPattern, bool, tuple | str | None]]:
    """(identifier, pattern, on_compact_text, lookup key) for each caller-given identifier; the key
    is ``(prefix, number)`` for a code, the first word of a name (None: a name without one)."""
    out = []
    for ident in sorted({_nfc(str(i)).strip() for i in identifiers if str(i).strip()}):
        compact = re.sub(r"[^0-9a-z]", "", _fold(ident))
        code = re.fullmatch(r"([a-z]+)0*(\d+)", compact)
        if code:
            # codes: no spaces, no diacritics, leading zeros optional ("CĐVC 07" = "cdvc7")
            out.append((ident, _LazyPattern(rf"{code.group(1)}0*{int(code.group(2))}(?!\d)"), True,
                        (code.group(1), int(code.group(2)))))
        else:
            words = r"\s+".join(re.escape(w) for w in _fold(ident).split())
            first = re.search(r"\w+", _fold(ident))
            out.append((ident, _LazyPattern(rf"(?<!\w){words}(?!\w)"), False, first.group() if first else None))
    return out


class _IdentifierIndex:
    """The identifiers a comment contains, found without trying every pattern on every comment.

    With 10,300 units (a national survey) trying each unit's pattern on each comment is
    quadratic. Candidates are looked up instead, then confirmed with the identifier's own
    pattern (`_identifier_patterns`), so the result is the same: a code is found through one
    scan of the compact text for any code prefix followed by a number (a prefix is letters only,
    so at most one prefix can start a code at a position); a name through its first word, which
    any match of its pattern holds as a whole word of the folded text.
    """

    def __init__(self, identifiers: Iterable[str]):
        self.patterns = _identifier_patterns(identifiers)
        self._codes: dict[tuple[str, int], list[int]] = {}
        self._words: dict[str, list[int]] = {}
        self._always: list[int] = []  # a name without a word character: tried on every comment
        for i, (_, _, on_compact, key) in enumerate(self.patterns):
            if on_compact:
                self._codes.setdefault(key, []).append(i)
            else:
                (self._words.setdefault(key, []) if key is not None else self._always).append(i)
        prefixes = sorted({p for p, _ in self._codes}, key=len, reverse=True)
        self._code_scan = re.compile(rf"(?=({'|'.join(prefixes)})0*(\d+)(?!\d))") if prefixes else None

    def find(self, folded: str, compact: str) -> list[str]:
        """The identifiers in a comment (its folded and its compact text), in sorted order."""
        cand = set(self._always)
        if self._code_scan is not None:
            for m in self._code_scan.finditer(compact):
                cand.update(self._codes.get((m.group(1), int(m.group(2))), ()))
        for word in set(re.findall(r"\w+", folded)):
            cand.update(self._words.get(word, ()))
        return [ident for ident, pattern, on_compact, _ in (self.patterns[i] for i in sorted(cand))
                if pattern.search(compact if on_compact else folded)]


def _screen_text(t: str, rules: _NameRules, index: _IdentifierIndex) -> tuple[list[str], list[str]]:
    """The reasons to withhold one comment (besides its group's size) and what was found."""
    why: list[str] = []
    what: list[str] = []
    hits = _names(t, rules)
    if hits:
        why.append("name")
        what += hits
    phones = [m.group().strip() for m in _PHONE.finditer(t) if _is_phone(m.group())]
    if phones:
        why.append("phone")
        what += phones
    emails = _EMAIL.findall(t)
    if emails:
        why.append("email")
        what += emails
    folded = _fold(t)
    compact = re.sub(r"[^0-9a-z]", "", folded)
    ids = index.find(folded, compact)
    if ids:
        why.append("identifier")
        what += ids
    return why, what


def screen_comments(
    comments_df: pd.DataFrame,
    *,
    group_col: str,
    text_col: str = "comment",
    min_group: int | None = None,
    identifiers: Iterable[str] = (),
    group_sizes: Mapping[str, int] | pd.Series | None = None,
    policy: DisclosurePolicy | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split free-text answers into publishable ones and ones withheld for manual review.

    Parameters
    ----------
    comments_df : DataFrame
        One row per comment, with *group_col* and *text_col*.
    group_col : str
        The group a comment would be quoted for (e.g. ``"org"``).
    text_col : str
        The free-text column.
    min_group : int, optional
        Minimum respondents in the group (default ``policy.min_comment_group``, 10; never
        below k).
    identifiers : iterable of str
        Unit codes and names, agency names, … that identify a unit (e.g. from
        ``data/population/units.csv``).
    group_sizes : mapping or Series, optional
        Respondents per group. Without it the number of comments per group is used, which is
        never larger (so the rule can only be stricter).
    policy : DisclosurePolicy, optional

    Returns
    -------
    (publishable, withheld) : tuple of DataFrame
        ``publishable``: the input columns, text NFC-normalised, sorted by group and text (so
        the order does not follow submission time). ``withheld``: the same columns plus
        ``reason`` (``group_size``, ``name``, ``phone``, ``email``, ``identifier``, joined by
        ``;``) and ``match`` (what was found; for the researcher only). Empty comments are
        dropped from both.

    Notes
    -----
    Names: a run of capitalised syllables that starts with a common family name (2+ syllables),
    starts with a capitalised title ("Anh Hùng"), follows a title ("đồng chí Hùng", "chị Lan",
    "bí thư Hà"), or has 3–4 syllables; phrases in ``comments.allow`` ("Nghệ An") are not names.
    Phones: 10-digit mobiles 03/05/07/08/09x, 11-digit landlines 02x, or +84/84, with spaces, dots
    or dashes. False positives only send a comment to review; nothing is deleted.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"org": ["CDVC"] * 12, "comment": ["Cần họp thường xuyên hơn."] * 11
    ...                   + ["Gọi anh Hùng 0912 345 678"]})
    >>> pub, held = screen_comments(c, group_col="org")
    >>> len(pub), held[["reason", "match"]].to_dict("records")
    (11, [{'reason': 'name;phone', 'match': 'Hùng; 0912 345 678'}])
    """
    pol = policy or load_policy()
    min_group = pol.min_comment_group if min_group is None else min_group
    if isinstance(min_group, bool) or not isinstance(min_group, int) or min_group < pol.k:
        raise DisclosureError(f"screen_comments: min_group = {min_group!r} must be an integer of at least k = {pol.k}")
    for col in (group_col, text_col):
        if col not in comments_df.columns:
            raise ValueError(f"screen_comments: column {col!r} is missing (columns: {list(comments_df.columns)})")
    df = comments_df.copy()
    text = df[text_col].astype("string")
    keep = text.notna() & text.str.strip().ne("")
    df = df[keep.fillna(False).to_numpy()].copy()
    df[text_col] = df[text_col].astype(str).map(_nfc)
    groups = df[group_col].astype("string")
    if group_sizes is None:
        sizes = groups.map(groups.value_counts())
    else:
        sizes = groups.map(pd.Series(dict(group_sizes)) if not isinstance(group_sizes, pd.Series) else group_sizes)
    small = sizes.fillna(0).astype(float).lt(min_group)

    index = _IdentifierIndex(identifiers)
    rules = _NameRules.of(pol)
    found: dict[str, tuple[list[str], list[str]]] = {}  # a text repeated is screened once
    reasons, matches = [], []
    for t, is_small in zip(df[text_col], small):
        if t not in found:
            found[t] = _screen_text(t, rules, index)
        why, what = found[t]
        reasons.append(";".join(["group_size", *why] if is_small else why))
        matches.append("; ".join(what))
    df["reason"] = reasons
    df["match"] = matches
    held = df["reason"].ne("")
    order = [group_col, text_col]
    publishable = df.loc[~held, list(comments_df.columns)].sort_values(order, kind="stable").reset_index(drop=True)
    withheld = df.loc[held].sort_values(order, kind="stable").reset_index(drop=True)
    return publishable, withheld


def write_withheld(withheld_df: pd.DataFrame, path: str | Path) -> Path:
    """Write withheld comments for the researcher's review (CSV, UTF-8 with BOM for Excel).

    Parameters
    ----------
    withheld_df : DataFrame
        The second output of :func:`screen_comments`.
    path : str or Path
        Must lie inside the project's ``data/`` folder (e.g.
        ``data/processed/member/2025_withheld_comments.csv``); anything else, in particular
        ``reports/``, is refused, because that folder is what gets published.

    Returns
    -------
    Path
        The resolved path written.
    """
    target = config.resolve_inside(path, config.DATA_DIR)
    target.parent.mkdir(parents=True, exist_ok=True)
    withheld_df.to_csv(target, index=False, encoding="utf-8-sig")
    return target
