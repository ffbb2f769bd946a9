"""Validation generated from the instrument: the expression subset and the rules."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.ingest import validate
from analysis.ingest.expression import ExpressionError, compile_expression
from analysis.ingest.spec import ChoiceSpec, InstrumentSpec, ItemSpec, spec_from_instrument
from analysis.instruments import load


def _data(**cols) -> pd.DataFrame:
    out = {}
    for k, v in cols.items():
        out[k] = pd.array(v, dtype="Int64") if all(isinstance(x, int) or x is None for x in v) else pd.array(v, dtype="string")
    return pd.DataFrame(out)


SPECS = {n: ItemSpec(n, "integer") for n in ("n", "total", "viol", "handled")}
SPECS.update({n: ItemSpec(n, "select_one", "yesno") for n in ("flag", "multi")})


@pytest.mark.parametrize("source,expected", [
    (". >= 0 and . <= ${total}", [True, False, False, True]),
    (". > 0 or ${flag} = 'yes'", [True, True, True, False]),
    ("not(. = 3)", [False, True, True, True]),
    (". * 2 <= ${total} + 1", [True, False, True, True]),
    (". mod 2 = 1", [True, True, False, False]),  # XPath mod truncates: -1 mod 2 = -1
    ("if(${flag} = 'yes', 1, 0) = 1", [True, False, True, False]),
    ("string-length(${flag}) = 3", [True, False, True, False]),
    ("selected(${multi}, 'b')", [False, True, False, False]),
    ("regex(${flag}, '^y')", [True, False, True, False]),
    ("-1 < .", [True, True, False, True]),
])
def test_expression_subset_evaluates_like_xlsform(source, expected):
    data = _data(n=[3, 9, -1, 0], total=[5, 5, 5, 5], flag=["yes", "no", "yes", "no"], multi=["a", "a b", "", "c"])
    assert compile_expression(source).evaluate(data, SPECS, current="n").tolist() == expected


@pytest.mark.parametrize("source,why", [
    ("today() > .", "function today() is not supported"),
    (". >= ${a} ++", "unexpected '+'"),
    (". >=", "ends too early"),
    ("position(..) = 1", "cannot read '..) = 1'"),
    ("${x} = 'a' and foo", "unknown name 'foo' (use ${foo} for an item)"),
    ("selected(${x})", "selected() takes 2 argument(s), got 1"),
])
def test_unknown_syntax_is_refused_loudly(source, why):
    with pytest.raises(ExpressionError, match=f"item q: expression .*: {__import__('re').escape(why)}"):
        compile_expression(source, where="item q")


def test_every_instrument_expression_compiles():
    for name in ("member", "unit"):
        spec = spec_from_instrument(load(name))
        rules = validate.compile_rules(spec)
        assert set(rules) == {it.name for it in spec.items}


def test_reference_to_an_unknown_item_is_an_instrument_error():
    spec = InstrumentSpec("t", "1", (ItemSpec("a", "integer", constraint=". <= ${nope}"),), {})
    with pytest.raises(ExpressionError, match=r"item a, constraint '. <= \$\{nope\}': unknown item\(s\) \['nope'\]"):
        validate.compile_rules(spec)


def _spec() -> InstrumentSpec:
    return InstrumentSpec("t", "1", (
        ItemSpec("total", "integer", required=True, constraint=". >= 1"),
        ItemSpec("viol", "integer", required=True, constraint=". >= 0 and . <= ${total}",
                 constraint_message_en="cannot exceed the total", constraint_message_vi="không được lớn hơn tổng số"),
        ItemSpec("handled", "integer", required=True, relevant="${viol} > 0", constraint=". <= ${viol}"),
        ItemSpec("note", "text"),
    ), {})


def test_rules_report_every_failure_in_one_pass():
    data = _data(total=[10, 10, None, 0, 10], viol=[2, 12, 1, 0, 0], handled=[None, 1, None, None, 3], note=["", "", "", "", ""])
    got = validate.validate_answers(data, _spec())
    assert got[["_row", "column", "value", "rule"]].to_dict("records") == [
        {"_row": 0, "column": "handled", "value": "", "rule": "required"},
        {"_row": 1, "column": "viol", "value": "12", "rule": "constraint"},
        {"_row": 2, "column": "total", "value": "", "rule": "required"},
        {"_row": 2, "column": "handled", "value": "", "rule": "required"},
        {"_row": 3, "column": "total", "value": "0", "rule": "constraint"},
        {"_row": 4, "column": "handled", "value": "3", "rule": "not_relevant"},
    ]
    assert got.loc[1, "message_en"] == "cannot exceed the total"
    assert got.loc[5, "message_en"] == "'handled' is answered although it does not apply (${viol} > 0)"


def test_blank_because_skipped_is_not_nonresponse_and_undecided_rules_are_not_applied():
    # Row 0: viol = 0, handled blank → fine (skipped). Row 1: viol blank → handled undecided, only 'required' on viol.
    data = _data(total=[10, 10], viol=[0, None], handled=[None, 4], note=["", ""])
    got = validate.validate_answers(data, _spec())
    assert got[["_row", "column", "rule"]].to_dict("records") == [{"_row": 1, "column": "viol", "rule": "required"}]


def test_group_relevance_is_inherited_by_its_items():
    spec = spec_from_instrument(load("member"))
    party = spec.by_role("party")[0].name
    gated = [it for it in spec.items if it.group_path and it.relevant]
    assert gated and {it.relevant for it in gated} == {f"${{{party}}} = 'no'"}


def test_choice_filter_checks_the_choice_attribute():
    spec = InstrumentSpec("t", "1", (
        ItemSpec("org", "select_one", "org"),
        ItemSpec("unit", "select_one", "unit", choice_filter="org=${org}"),
    ), {"org": (ChoiceSpec("A"), ChoiceSpec("B")),
        "unit": (ChoiceSpec("A1", attributes={"org": "A"}), ChoiceSpec("B1", attributes={"org": "B"}))})
    data = _data(org=["A", "A", "B"], unit=["A1", "B1", "B1"])
    attrs = {"unit": {"A1": {"org": "A"}, "B1": {"org": "B"}}}
    got = validate.validate_answers(data, spec, choice_attributes=attrs)
    assert got[["_row", "column", "value", "rule"]].to_dict("records") == [
        {"_row": 1, "column": "unit", "value": "B1", "rule": "choice_filter"}]
