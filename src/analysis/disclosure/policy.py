"""The disclosure-control policy: one frozen object loaded from ``config/disclosure.yaml``.

Every threshold used by :mod:`analysis.disclosure` comes from here, so the methods appendix
(:func:`policy_markdown`) always describes the rules that were actually applied. Import the
public names from :mod:`analysis.disclosure`; this module is a helper of it.
"""

from __future__ import annotations

import dataclasses
import math
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from analysis import config

__all__ = [
    "DisclosureError",
    "DisclosurePolicy",
    "MIN_ALLOWED_K",
    "POLICY_PATH",
    "load_policy",
    "policy_markdown",
]

#: The floor for k: groups of one or two can be re-identified by any member of them.
MIN_ALLOWED_K = 3

#: Where the project's policy lives (top-level config/, next to surveys/).
POLICY_PATH: Path = config.DISCLOSURE_POLICY_FILE


class DisclosureError(ValueError):
    """A table, text or export would disclose respondents, or a policy is unsafe."""


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


@dataclass(frozen=True)
class DisclosurePolicy:
    """Thresholds and rules of disclosure control (see ``config/disclosure.yaml``).

    Parameters
    ----------
    k : int
        Minimum unweighted number of respondents behind any published group statistic (>= 3).
    min_comment_group : int
        Free-text answers are shown only for groups of at least this many respondents.
    decimals : int
        Decimals kept in published estimates, standard errors and intervals.
    min_width_mean, min_width_proportion : float
        A hidden value recovered within a narrower interval counts as disclosed.
    homogeneity_rule : str
        ``"suppress"``: a homogeneous group on a sensitive item is suppressed.
    sensitive_variables : tuple of str
        Variables always treated as sensitive (added to those the caller passes).
    pool_label_vi, pool_label_en : str
        Label of the pooled group of small units.
    marker_primary, marker_other : str
        Display markers; ``{k}`` in ``marker_primary`` is replaced by k.
    comment_titles, comment_surnames, comment_allow : tuple of str
        Name-detection vocabulary for comment screening.
    quasi_identifiers : tuple of str
        Columns on which respondent-level exports must be k-anonymous.
    export_drop_prefixes : tuple of str
        Column-name prefixes dropped from exports (submission ids, timestamps).
    wave_column, baseline_column : str
        Column names identifying the wave and, in difference tables, the baseline wave.
    """

    k: int = 5
    min_comment_group: int = 10
    decimals: int = 2
    min_width_mean: float = 0.5
    min_width_proportion: float = 0.10
    homogeneity_rule: str = "suppress"
    sensitive_variables: tuple[str, ...] = ()
    pool_label_vi: str = "Đơn vị khác (gộp)"
    pool_label_en: str = "Other units (pooled)"
    marker_primary: str = "n<{k}"
    marker_other: str = "x"
    comment_titles: tuple[str, ...] = ("đồng chí", "anh", "chị", "ông", "bà")
    comment_surnames: tuple[str, ...] = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng")
    comment_allow: tuple[str, ...] = ("Nghệ An", "Việt Nam")
    quasi_identifiers: tuple[str, ...] = ("unit", "sex", "age_group", "party", "position")
    export_drop_prefixes: tuple[str, ...] = ("_",)
    wave_column: str = "wave"
    baseline_column: str = "baseline_wave"

    def __post_init__(self) -> None:
        # Validate here so that dataclasses.replace() cannot build an unsafe policy either.
        if isinstance(self.k, bool) or not isinstance(self.k, int):
            raise DisclosureError(f"disclosure policy: min_group_size (k) must be an integer, got {self.k!r}")
        if self.k < MIN_ALLOWED_K:
            raise DisclosureError(
                f"disclosure policy: min_group_size (k) = {self.k} is below the allowed minimum of "
                f"{MIN_ALLOWED_K}; groups this small can be re-identified by their own members"
            )
        if not isinstance(self.min_comment_group, int) or self.min_comment_group < self.k:
            raise DisclosureError(
                f"disclosure policy: comments.min_group_size = {self.min_comment_group!r} must be an "
                f"integer of at least k = {self.k}"
            )
        if not isinstance(self.decimals, int) or not 0 <= self.decimals <= 6:
            raise DisclosureError(f"disclosure policy: decimals must be an integer 0–6, got {self.decimals!r}")
        for name in ("min_width_mean", "min_width_proportion"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise DisclosureError(f"disclosure policy: {name} must be a non-negative number, got {v!r}")
        if self.homogeneity_rule != "suppress":
            raise DisclosureError(
                f"disclosure policy: homogeneity.rule {self.homogeneity_rule!r} is not offered; use "
                "'suppress' (coarsening to '≥ 95%' still reveals every answer in groups under 20)"
            )
        if self.marker_primary.format(k=self.k) == self.marker_other:
            raise DisclosureError("disclosure policy: markers.primary and markers.other must differ")

    @property
    def primary_marker(self) -> str:
        """The displayed marker of a small group, e.g. ``'n<5'``."""
        return self.marker_primary.format(k=self.k)

    def replace(self, **changes: Any) -> DisclosurePolicy:
        """A copy with *changes* applied and validated (e.g. ``policy.replace(k=7)``)."""
        return dataclasses.replace(self, **changes)


# YAML key path -> dataclass field; one table so that a misspelt key is an error, not ignored.
_YAML_FIELDS: dict[tuple[str, ...], str] = {
    ("min_group_size",): "k",
    ("decimals",): "decimals",
    ("min_interval_width", "mean"): "min_width_mean",
    ("min_interval_width", "proportion"): "min_width_proportion",
    ("homogeneity", "rule"): "homogeneity_rule",
    ("homogeneity", "sensitive_variables"): "sensitive_variables",
    ("pooling", "label_vi"): "pool_label_vi",
    ("pooling", "label_en"): "pool_label_en",
    ("markers", "primary"): "marker_primary",
    ("markers", "other"): "marker_other",
    ("comments", "min_group_size"): "min_comment_group",
    ("comments", "titles"): "comment_titles",
    ("comments", "surnames"): "comment_surnames",
    ("comments", "allow"): "comment_allow",
    ("quasi_identifiers",): "quasi_identifiers",
    ("export_drop_prefixes",): "export_drop_prefixes",
    ("wave_column",): "wave_column",
    ("baseline_column",): "baseline_column",
}


def _flatten(d: dict, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    out: dict[tuple[str, ...], Any] = {}
    for key, value in d.items():
        path = (*prefix, str(key))
        if isinstance(value, dict):
            out.update(_flatten(value, path))
        else:
            out[path] = value
    return out


def load_policy(path: str | Path | None = None, **overrides: Any) -> DisclosurePolicy:
    """Load the disclosure policy from YAML (default ``config/disclosure.yaml``).

    Parameters
    ----------
    path : str or Path, optional
        The policy file. Without it, the project's ``config/disclosure.yaml`` (a missing file is
        an error, never a silent fallback to other values).
    **overrides
        Field values that replace the file's (e.g. ``k=min_group_size`` from a notebook
        parameter); validated like the file. ``k`` may only be raised: a run can be stricter
        than the policy file, never looser.

    Returns
    -------
    DisclosurePolicy

    Raises
    ------
    DisclosureError
        An unknown key, or a value outside the allowed range (e.g. k below 3).
    FileNotFoundError
        The policy file does not exist.

    Examples
    --------
    >>> load_policy().k
    5
    >>> load_policy(k=7).primary_marker
    'n<7'
    >>> load_policy(k=4)
    Traceback (most recent call last):
    ...
    analysis.disclosure.policy.DisclosureError: disclosure policy: k = 4 is below min_group_size = 5 of disclosure.yaml; lower it in the policy file (and the methods appendix), not in a run
    """
    fields: dict[str, Any] = {}
    file = Path(path) if path is not None else POLICY_PATH
    if not file.is_file():
        # no silent fallback to built-in values: the policy lives in one place
        raise FileNotFoundError(f"disclosure policy {file} is missing (config/disclosure.yaml in the project)")
    raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise DisclosureError(f"{file}: the policy must be a mapping, got {type(raw).__name__}")
    for key, value in _flatten(raw).items():
        if key == ("version",):
            continue
        if key not in _YAML_FIELDS:
            raise DisclosureError(f"{file}: unknown policy key {'.'.join(key)!r}")
        if isinstance(value, list):
            value = tuple(_nfc(v) if isinstance(v, str) else v for v in value)
        elif isinstance(value, str):
            value = _nfc(value)
        fields[_YAML_FIELDS[key]] = value
    file_k = fields.get("k", DisclosurePolicy.k)
    k_over = overrides.get("k")
    if isinstance(k_over, int) and not isinstance(k_over, bool) and MIN_ALLOWED_K <= k_over < file_k:
        # a run (notebook parameter min_group_size, report --min-group-size) may be stricter than
        # the policy, never looser: the policy lives in one place
        raise DisclosureError(
            f"disclosure policy: k = {k_over} is below min_group_size = {file_k} of {file.name}; "
            "lower it in the policy file (and the methods appendix), not in a run"
        )
    fields.update(overrides)
    try:
        return DisclosurePolicy(**fields)
    except DisclosureError as exc:
        raise DisclosureError(str(exc) if path is None else f"{file}: {exc}") from None



#: How the report names a respondent characteristic (the member questionnaire's wording),
#: never the variable's name.
_CHARACTERISTICS = {
    "unit": ("cơ sở", "unit"),
    "sex": ("giới tính", "sex"),
    "age_group": ("độ tuổi", "age group"),
    "party": ("là đảng viên hay không", "party membership"),
    "position": ("chức vụ trong tổ chức", "post in the organization"),
    "org": ("tổ chức", "organization"),
    "education": ("trình độ chuyên môn", "qualification"),
}


def _characteristics(names, lang: str) -> str:
    i = 0 if lang == "vi" else 1
    return ", ".join(_CHARACTERISTICS.get(n, (n.replace("_", " "),) * 2)[i] for n in names)


def policy_markdown(policy: DisclosurePolicy | None = None, lang: str = "vi") -> str:
    """The methods-appendix text describing the disclosure rules (Markdown).

    Parameters
    ----------
    policy : DisclosurePolicy, optional
        Defaults to :func:`load_policy`.
    lang : {"vi", "en"}
        Vietnamese (the report's first language) or English.

    Returns
    -------
    str

    Examples
    --------
    >>> text = policy_markdown(load_policy(k=6), "vi")
    >>> "ít hơn 6 người trả lời" in text
    True
    >>> "fewer than 6 respondents" in policy_markdown(load_policy(k=6), "en")
    True
    """
    p = policy or load_policy()
    m1, m2 = p.primary_marker, p.marker_other
    if lang == "vi":
        lines = [
            "### Bảo đảm bí mật cho người trả lời",
            "",
            f"- Không công bố bất kỳ số liệu nào về một nhóm có ít hơn {p.k} người trả lời "
            f"(đếm số người trả lời thực tế, không gia quyền); ô đó được ghi \"{m1}\".",
            f"- Khi một ô bị ẩn, một hoặc nhiều ô khác cũng được ẩn (ghi \"{m2}\") để không thể "
            "tính ngược ô bị ẩn từ tổng, từ các ô còn lại, từ sai số làm tròn, hay từ chênh lệch "
            "giữa các đợt khảo sát. Việc này được kiểm tra tự động bằng một chương trình "
            "\"tấn công thử\" trên mọi bảng công bố. Ô được chọn để ẩn thêm là ô ít người trả lời "
            "nhất đủ để bảo vệ; ghi chú dưới mỗi bảng nêu rõ ô đó sẽ làm lộ ô nào nếu được công bố.",
            f"- Các đơn vị cơ sở có ít hơn {p.k} người trả lời được gộp thành nhóm "
            f"\"{p.pool_label_vi}\" trong từng tổ chức trước khi tính toán.",
            "- Với các câu hỏi nhạy cảm, nếu mọi người trong một nhóm chọn cùng một phương án "
            f"(0% hoặc 100%), kết quả của nhóm đó không được công bố (ghi \"{m2}\").",
            f"- Ý kiến tự do chỉ được trích dẫn cho nhóm có ít nhất {p.min_comment_group} người trả "
            "lời; ý kiến có tên người, số điện thoại, thư điện tử hoặc chi tiết nhận diện đơn vị "
            "được giữ lại để nhà nghiên cứu xem xét và không đưa vào báo cáo.",
            f"- Số liệu được làm tròn đến {p.decimals} chữ số thập phân; tỷ lệ (0–1) đến "
            f"{p.decimals + 1} chữ số (một phần mười điểm phần trăm). Khoảng tin cậy có hai đầu "
            "bằng nhau sau khi làm tròn không được in.",
            f"- Dữ liệu cấp cá nhân chỉ được xuất khi mỗi tổ hợp ({_characteristics(p.quasi_identifiers, 'vi')}) "
            f"có ít nhất {p.k} người.",
        ]
    elif lang == "en":
        lines = [
            "### Protecting respondents' confidentiality",
            "",
            f"- No statistic is published about a group of fewer than {p.k} respondents (unweighted "
            f"count); such cells show \"{m1}\".",
            f"- When a cell is hidden, one or more other cells are hidden too (shown \"{m2}\") so "
            "that it cannot be recovered from totals, the remaining cells, rounding, or differences "
            "between waves; an automatic attacker checks every published table. The cell hidden "
            "in addition is the one with the fewest respondents that protects; the note under each "
            "table names the cell it would expose if published.",
            f"- Grassroots units with fewer than {p.k} respondents are pooled into "
            f"\"{p.pool_label_en}\" within each organization before estimation.",
            "- On sensitive items, a group whose members all gave the same answer (0% or 100%) is "
            f"not published (shown \"{m2}\").",
            f"- Free-text comments are quoted only for groups of at least {p.min_comment_group} "
            "respondents; comments with names, phone numbers, e-mail addresses or unit-identifying "
            "details are withheld for the researcher's review and never printed.",
            f"- Figures are rounded to {p.decimals} decimals; shares (0–1) to {p.decimals + 1} "
            "(a tenth of a percentage point). An interval whose two ends are equal once rounded is "
            "not printed.",
            f"- Respondent-level data are exported only when every combination of "
            f"({_characteristics(p.quasi_identifiers, 'en')}) has at least {p.k} respondents.",
        ]
    else:
        raise ValueError(f"lang must be 'vi' or 'en', got {lang!r}")
    return "\n".join(lines) + "\n"
