"""Validation generated from the instrument: one table of every failure, in one pass.

The import (`analysis.ingest.importer`) converts each received column to its item's type first; this
module then checks the typed answers against what the instrument declares:

========================  ====================================================================
rule                      failure
========================  ====================================================================
``required``              a required item is blank although the question applied (``relevant``)
``not_relevant``          an answer where the question did not apply (skip logic)
``constraint``            the XLSForm ``constraint`` is false for an answer
``choice_filter``         a cascading choice does not belong to its parent (unit vs organization)
========================  ====================================================================

Type errors (``integer``, ``decimal``, ``choice`` …) are found during conversion by the import
and reported in the same table, with the same columns.

Why not pandera
---------------
pandera 0.35 runs on pandas 3, and its lazy validation does report every failure, but almost
nothing here is a column check: requiredness depends on skip logic, constraints compare columns
with each other (``. <= ${members_total}``), and every failure must carry the row number the
researcher sees in the file. That would mean wrapping a hand-written expression evaluator in
pandera ``Check`` objects and mapping its failure cases back to rows — more code, not less. So
the checks are vectorised pandas (one boolean mask per item and rule; loops are over items,
never over respondents), and the result is a plain DataFrame with fixed columns.

The rules are compiled from the instrument's expressions by `analysis.ingest.expression`;
the flat view of the instrument they read is `analysis.ingest.spec`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from analysis.ingest.expression import Expression, ExpressionError, compile_expression
from analysis.ingest.spec import InstrumentSpec

__all__ = ["FAILURE_COLUMNS", "compile_rules", "relevance", "validate_answers"]

#: Columns of every failure table (validation and import): the place, the value and the rule.
FAILURE_COLUMNS: tuple[str, ...] = ("file", "sheet", "row", "column", "value", "rule", "message_en", "message_vi")


@dataclass(frozen=True)
class _ItemRules:
    relevant: Expression | None
    constraint: Expression | None
    choice_filter: Expression | None


def compile_rules(spec: InstrumentSpec) -> dict[str, _ItemRules]:
    """Compile every item's ``relevant``, ``constraint`` and ``choice_filter``; fail on the first bad one.

    Called once per import, before any data is read, so an instrument error never surfaces
    half-way through a file. References to unknown items are errors too.
    """
    names = {it.name for it in spec.items}
    out: dict[str, _ItemRules] = {}
    for it in spec.items:
        compiled = []
        for attr, choice_ctx in (("relevant", False), ("constraint", False), ("choice_filter", True)):
            src = getattr(it, attr)
            if not src:
                compiled.append(None)
                continue
            expr = compile_expression(src, where=f"instrument {spec.name} v{spec.version}, item {it.name}, {attr}",
                                      choice_context=choice_ctx)
            unknown = sorted(expr.references - names)
            if unknown:
                raise ExpressionError(f"instrument {spec.name}, item {it.name}, {attr} {src!r}: unknown item(s) {unknown}")
            compiled.append(expr)
        out[it.name] = _ItemRules(*compiled)
    return out


def relevance(data: pd.DataFrame, spec: InstrumentSpec, rules: Mapping[str, _ItemRules] | None = None
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Skip logic for every item: ``(applies, undecided)`` boolean frames (rows × items).

    ``applies`` is True where the question was asked; ``undecided`` where its ``relevant``
    refers to a blank item (then neither ``required`` nor ``not_relevant`` is checked).
    """
    rules = rules if rules is not None else compile_rules(spec)
    specs = {it.name: it for it in spec.items}
    applies, undecided = {}, {}
    for it in spec.items:
        rel = rules[it.name].relevant
        if rel is None:
            applies[it.name] = pd.Series(True, index=data.index)
            undecided[it.name] = pd.Series(False, index=data.index)
        else:
            applies[it.name] = rel.evaluate(data, specs)
            undecided[it.name] = rel.undecided(data)
    return pd.DataFrame(applies, index=data.index), pd.DataFrame(undecided, index=data.index)


def _failures(mask: pd.Series, data: pd.DataFrame, column: str, rule: str, en: str, vi: str) -> pd.DataFrame | None:
    if not mask.any():
        return None
    rows = mask[mask].index
    values = data.loc[rows, column]
    return pd.DataFrame({
        "_row": rows,
        "column": column,
        "value": [_display(v) for v in values],
        "rule": rule,
        "message_en": en,
        "message_vi": vi,
    })


def _display(v: object) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return str(v)


def validate_answers(data: pd.DataFrame, spec: InstrumentSpec, *, rules: Mapping[str, _ItemRules] | None = None,
                     choice_attributes: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None) -> pd.DataFrame:
    """Every rule failure of the typed answers in *data* (one column per item, blanks as NA).

    Parameters
    ----------
    data
        Typed answers, one row per submission; its index identifies the row (the import maps it
        back to file, sheet and row).
    spec
        The instrument (`InstrumentSpec`).
    rules
        Pre-compiled rules (`compile_rules`); compiled here when omitted.
    choice_attributes
        ``{list_name: {code: {attribute: value}}}`` for ``choice_filter`` checks.

    Returns
    -------
    pandas.DataFrame
        Columns ``_row`` (the index label of *data*), ``column``, ``value``, ``rule``,
        ``message_en``, ``message_vi``; sorted by row then instrument order; empty when valid.

    Examples
    --------
    >>> from analysis.ingest.spec import ChoiceSpec, ItemSpec
    >>> spec = InstrumentSpec("demo", "1", (
    ...     ItemSpec("party", "select_one", "yesno", required=True),
    ...     ItemSpec("wish", "select_one", "yesno", required=True, relevant="${party} = 'no'"),
    ... ), {"yesno": (ChoiceSpec("yes"), ChoiceSpec("no"))})
    >>> data = pd.DataFrame({"party": ["no", "yes", None], "wish": [None, "yes", "no"]}, dtype="string")
    >>> validate_answers(data, spec)[["_row", "column", "rule"]].to_dict("records")
    [{'_row': 0, 'column': 'wish', 'rule': 'required'}, {'_row': 1, 'column': 'wish', 'rule': 'not_relevant'}, {'_row': 2, 'column': 'party', 'rule': 'required'}]
    """
    rules = rules if rules is not None else compile_rules(spec)
    specs = {it.name: it for it in spec.items}
    applies, undecided = relevance(data, spec, rules)
    order = {it.name: i for i, it in enumerate(spec.items)}
    parts: list[pd.DataFrame | None] = []
    for it in spec.items:
        if it.name not in data.columns:
            continue
        present = data[it.name].notna()
        decided = ~undecided[it.name]
        if it.required:
            parts.append(_failures(~present & applies[it.name] & decided, data, it.name, "required",
                                   f"'{it.name}' is required but blank",
                                   f"'{it.name}' là câu bắt buộc nhưng bị bỏ trống"))
        parts.append(_failures(present & ~applies[it.name] & decided, data, it.name, "not_relevant",
                               f"'{it.name}' is answered although it does not apply ({it.relevant})",
                               f"'{it.name}' có trả lời dù không thuộc đối tượng phải trả lời ({it.relevant})"))
        r = rules[it.name]
        if r.constraint is not None:
            ok = r.constraint.evaluate(data, specs, current=it.name)
            # An answer that should not be there at all is reported once, as not_relevant.
            check = present & ~r.constraint.undecided(data) & (applies[it.name] | ~decided)
            parts.append(_failures(check & ~ok, data, it.name, "constraint",
                                   it.constraint_message_en or f"'{it.name}' breaks the rule {it.constraint}",
                                   it.constraint_message_vi or f"'{it.name}' không thỏa điều kiện {it.constraint}"))
        if r.choice_filter is not None and choice_attributes and it.list_name in choice_attributes:
            table = choice_attributes[it.list_name]
            attr_names = sorted({k for v in table.values() for k in v})
            codes = data[it.name].astype(object)
            attrs = {a: codes.map(lambda c, a=a: table.get(c, {}).get(a)) for a in attr_names}
            ok = r.choice_filter.evaluate(data, specs, attributes=attrs)
            check = present & ~r.choice_filter.undecided(data)
            parts.append(_failures(check & ~ok, data, it.name, "choice_filter",
                                   f"'{it.name}' does not belong to the answer it depends on ({it.choice_filter})",
                                   f"'{it.name}' không thuộc lựa chọn của câu trước ({it.choice_filter})"))
    parts = [p for p in parts if p is not None]
    if not parts:
        return pd.DataFrame(columns=["_row", "column", "value", "rule", "message_en", "message_vi"])
    out = pd.concat(parts, ignore_index=True)
    out["_order"] = out["column"].map(order)
    return out.sort_values(["_row", "_order", "rule"], kind="stable").drop(columns="_order").reset_index(drop=True)
