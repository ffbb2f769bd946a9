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

The XLSForm expression subset
-----------------------------
`compile_expression` translates ``relevant``, ``constraint`` and ``choice_filter`` expressions
into vectorised evaluators. Supported: ``.``, ``${name}``, numbers, quoted strings, ``= != < <=
> >=``, ``+ - * div mod``, ``and or``, parentheses and the functions ``not``, ``selected``,
``count-selected``, ``string-length``, ``regex``, ``number``, ``int``, ``if``, ``true``,
``false``; in a ``choice_filter``, bare names are attributes of the choice (``org=${org_item}``).
Anything else raises `ExpressionError` naming the item and the expression: an instrument that
uses more of XLSForm must extend this translator rather than have its rules silently skipped.

Semantics follow ODK/XPath 1.0 with one deliberate exception: when an expression refers to an
item that is blank, the result is *undecided* and the rule is not applied to that row (the
blank item has its own ``required`` failure). So a missing party-membership answer does not turn
every answer in the party-admission section into a ``not_relevant`` failure as well.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "FAILURE_COLUMNS",
    "ExpressionError",
    "ItemSpec",
    "ChoiceSpec",
    "InstrumentSpec",
    "Expression",
    "compile_expression",
    "compile_rules",
    "relevance",
    "validate_answers",
]

#: Columns of every failure table (validation and import): the place, the value and the rule.
FAILURE_COLUMNS: tuple[str, ...] = ("file", "sheet", "row", "column", "value", "rule", "message_en", "message_vi")


class ExpressionError(ValueError):
    """An instrument expression outside the supported XLSForm subset (an instrument error)."""


# --------------------------------------------------------------------------------------------
# The part of the instrument that import, validation and quality flags need
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChoiceSpec:
    """One choice of a list: code (XLSForm ``name``), labels, missing flag, extra attributes."""

    code: str
    label_vi: str = ""
    label_en: str = ""
    missing: bool = False
    value: float | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ItemSpec:
    """One data item (a question with an answer column), flattened out of its groups.

    ``kind`` is the XLSForm base type (``select_one``, ``select_multiple``, ``integer``,
    ``decimal``, ``text``, ``date``, ``datetime``, ``time``, ``start``, ``end``, ``calculate``…);
    ``relevant`` is the *effective* relevance (the item's own and its groups', joined with
    ``and``); ``group_path`` is the names of the enclosing groups, outermost first.
    """

    name: str
    kind: str
    list_name: str | None = None
    label_vi: str = ""
    label_en: str = ""
    required: bool = False
    relevant: str | None = None
    constraint: str | None = None
    constraint_message_vi: str | None = None
    constraint_message_en: str | None = None
    choice_filter: str | None = None
    role: str | None = None
    construct: str | None = None
    reverse: bool = False
    group_path: tuple[str, ...] = ()
    group_labels_vi: tuple[str, ...] = ()
    group_labels_en: tuple[str, ...] = ()


@dataclass(frozen=True)
class InstrumentSpec:
    """What validation needs from an `analysis.instruments.Instrument`, in one flat shape."""

    name: str
    version: str
    items: tuple[ItemSpec, ...]
    choices: Mapping[str, tuple[ChoiceSpec, ...]]
    anonymous: bool = True

    def item(self, name: str) -> ItemSpec:
        for it in self.items:
            if it.name == name:
                return it
        raise KeyError(name)

    def by_role(self, role: str) -> tuple[ItemSpec, ...]:
        return tuple(it for it in self.items if it.role == role)

    @property
    def scale_items(self) -> tuple[ItemSpec, ...]:
        """Items that belong to a construct and are answered on a choice list (Likert items)."""
        return tuple(it for it in self.items if it.construct and it.kind == "select_one")

    def missing_codes(self, list_name: str | None) -> frozenset[str]:
        return frozenset(c.code for c in self.choices.get(list_name or "", ()) if c.missing)


# --------------------------------------------------------------------------------------------
# Expressions
# --------------------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<ref>\$\{[A-Za-z_][A-Za-z0-9_.-]*\})
      | (?P<num>\d+(?:\.\d+)?|\.\d+)
      | (?P<str>'[^']*'|"[^"]*")
      | (?P<op><=|>=|!=|=|<|>|\+|-|\*|\(|\)|,)
      | (?P<dot>\.(?![\w.]))
      | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
    )""",
    re.VERBOSE,
)
_FUNCTIONS = {"not", "selected", "count-selected", "string-length", "regex", "number", "int", "if", "true", "false"}


@dataclass(frozen=True)
class _Val:
    """A vectorised operand: ``kind`` is 'num' (float Series), 'str' (object, '' = blank) or 'bool'."""

    kind: str
    s: pd.Series


def _num(v: _Val) -> pd.Series:
    if v.kind == "num":
        return v.s
    if v.kind == "bool":
        return v.s.astype(float)
    txt = v.s.astype(object)
    ok = txt.astype(str).str.fullmatch(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)\s*")
    out = pd.Series(np.nan, index=v.s.index, dtype=float)
    out[ok] = txt[ok].astype(float)
    return out


def _fmt_num(x: float) -> str:
    if isinstance(x, float) and math.isnan(x):
        return ""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _str(v: _Val) -> pd.Series:
    if v.kind == "str":
        return v.s
    if v.kind == "bool":
        return v.s.map({True: "true", False: "false"}).astype(object)
    return v.s.map(_fmt_num).astype(object)


def _bool(v: _Val) -> pd.Series:
    if v.kind == "bool":
        return v.s
    if v.kind == "num":
        return v.s.notna() & (v.s != 0)
    return v.s.astype(str) != ""


@dataclass(frozen=True)
class Expression:
    """A compiled XLSForm expression: ``source``, the items it reads, and an evaluator."""

    source: str
    references: frozenset[str]
    uses_self: bool
    _fn: Callable[[Mapping[str, _Val], _Val | None, Mapping[str, _Val]], _Val] = field(repr=False)

    def evaluate(self, data: pd.DataFrame, specs: Mapping[str, ItemSpec], *, current: str | None = None,
                 attributes: Mapping[str, pd.Series] | None = None) -> pd.Series:
        """Evaluate on every row of *data*; return a boolean Series (False where undecided).

        Use `undecided` for the rows where a referenced item is blank.
        """
        env = {name: _operand(data, specs, name) for name in self.references}
        here = _operand(data, specs, current) if current else None
        attrs = {k: _Val("str", v.fillna("").astype(object)) for k, v in (attributes or {}).items()}
        return _bool(self._fn(env, here, attrs)).fillna(False).astype(bool)

    def undecided(self, data: pd.DataFrame) -> pd.Series:
        """Rows where an item the expression refers to is blank."""
        mask = pd.Series(False, index=data.index)
        for name in self.references:
            mask |= data[name].isna()
        return mask


def _operand(data: pd.DataFrame, specs: Mapping[str, ItemSpec], name: str) -> _Val:
    col = data[name]
    kind = specs[name].kind if name in specs else "text"
    if kind in ("integer", "decimal", "range"):
        return _Val("num", col.astype("Float64").astype(float))
    if pd.api.types.is_datetime64_any_dtype(col):
        return _Val("str", col.dt.strftime("%Y-%m-%d").fillna("").astype(object))
    return _Val("str", col.astype(object).where(col.notna(), "").astype(object))


class _Parser:
    def __init__(self, source: str, where: str, choice_context: bool):
        self.source = source
        self.where = where
        self.choice_context = choice_context
        self.tokens = self._tokenize(source)
        self.i = 0
        self.refs: set[str] = set()
        self.uses_self = False

    def _fail(self, why: str) -> ExpressionError:
        return ExpressionError(f"{self.where}: expression {self.source!r}: {why}; supported: . ${{name}} numbers 'text' "
                               f"= != < <= > >= + - * div mod and or ( ) {' '.join(sorted(_FUNCTIONS))}")

    def _tokenize(self, s: str) -> list[tuple[str, str]]:
        pos, out = 0, []
        s = s.rstrip()
        while pos < len(s):
            m = _TOKEN.match(s, pos)
            if not m or m.end() == pos:
                raise self._fail(f"cannot read {s[pos:pos + 12]!r}")
            kind = m.lastgroup
            out.append((kind, m.group(kind)))
            pos = m.end()
        return out

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise self._fail(f"expected {value or 'more'} at token {self.i + 1}")
        self.i += 1
        return tok

    def parse(self):
        fn = self.or_()
        if self.peek() is not None:
            raise self._fail(f"unexpected {self.peek()[1]!r}")
        return fn

    def or_(self):
        return self._chain("or", self.and_, operator.or_)

    def and_(self):
        return self._chain("and", self.cmp, operator.and_)

    def _chain(self, word, operand, combine):
        """``operand (word operand)*``, left to right, combined elementwise as booleans."""
        left = operand()
        while self.peek() == ("name", word):
            self.take()
            right = operand()
            left = (lambda a, b: lambda e, h, c: _Val("bool", combine(_bool(a(e, h, c)), _bool(b(e, h, c)))))(left, right)
        return left

    def cmp(self):
        left = self.add()
        tok = self.peek()
        if tok and tok[0] == "op" and tok[1] in ("=", "!=", "<", "<=", ">", ">="):
            op = self.take()[1]
            right = self.add()
            return _compare(op, left, right)
        return left

    def add(self):
        left = self.mul()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            right = self.mul()
            left = _arith(op, left, right)
        return left

    def mul(self):
        left = self.unary()
        while self.peek() in (("op", "*"), ("name", "div"), ("name", "mod")):
            op = self.take()[1]
            right = self.unary()
            left = _arith(op, left, right)
        return left

    def unary(self):
        if self.peek() == ("op", "-"):
            self.take()
            inner = self.unary()
            return lambda e, h, c: _Val("num", -_num(inner(e, h, c)))
        return self.atom()

    def atom(self):
        tok = self.peek()
        if tok is None:
            raise self._fail("ends too early")
        kind, text = tok
        if kind == "ref":
            self.take()
            name = text[2:-1]
            self.refs.add(name)
            return lambda e, h, c: e[name]
        if kind == "dot":
            self.take()
            self.uses_self = True
            return lambda e, h, c: h
        if kind == "num":
            self.take()
            value = float(text)
            return lambda e, h, c: _Val("num", pd.Series(value, index=_index(e, h, c), dtype=float))
        if kind == "str":
            self.take()
            value = text[1:-1]
            return lambda e, h, c: _Val("str", pd.Series(value, index=_index(e, h, c), dtype=object))
        if text == "(":
            self.take()
            inner = self.or_()
            self.take(")")
            return inner
        if kind == "name":
            self.take()
            if self.peek() == ("op", "("):
                return self.call(text)
            if self.choice_context:
                return lambda e, h, c: c[text] if text in c else _missing_attr(text)
            raise self._fail(f"unknown name {text!r} (use ${{{text}}} for an item)")
        raise self._fail(f"unexpected {text!r}")

    def call(self, fname: str):
        if fname not in _FUNCTIONS:
            raise self._fail(f"function {fname}() is not supported")
        self.take("(")
        args = []
        if self.peek() != ("op", ")"):
            args.append(self.or_())
            while self.peek() == ("op", ","):
                self.take()
                args.append(self.or_())
        self.take(")")
        arity = {"not": 1, "selected": 2, "count-selected": 1, "string-length": 1, "regex": 2, "number": 1,
                 "int": 1, "if": 3, "true": 0, "false": 0}[fname]
        if len(args) != arity:
            raise self._fail(f"{fname}() takes {arity} argument(s), got {len(args)}")
        return _function(fname, args)


def _missing_attr(name: str):
    raise ExpressionError(f"choice_filter refers to choice attribute {name!r}, which the choice list does not have")


def _index(env, here, attrs) -> pd.Index:
    for v in (*env.values(), here, *attrs.values()):
        if v is not None:
            return v.s.index
    raise ExpressionError("an expression made only of constants cannot be evaluated")


def _compare(op: str, left, right):
    def fn(e, h, c):
        a, b = left(e, h, c), right(e, h, c)
        if op in ("=", "!=") and a.kind == "str" and b.kind == "str":
            res = a.s.astype(str) == b.s.astype(str)
            return _Val("bool", res if op == "=" else ~res)
        if op in ("=", "!=") and "bool" in (a.kind, b.kind):
            res = _bool(a) == _bool(b)
            return _Val("bool", res if op == "=" else ~res)
        x, y = _num(a), _num(b)
        res = {"=": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]
        return _Val("bool", res.fillna(False).astype(bool))
    return fn


def _arith(op: str, left, right):
    def fn(e, h, c):
        x, y = _num(left(e, h, c)), _num(right(e, h, c))
        with np.errstate(divide="ignore", invalid="ignore"):
            res = {"+": x + y, "-": x - y, "*": x * y, "div": x / y, "mod": np.fmod(x, y)}[op]
        return _Val("num", res.replace([np.inf, -np.inf], np.nan))
    return fn


def _function(name: str, args: Sequence):
    def fn(e, h, c):
        vals = [a(e, h, c) for a in args]
        if name == "not":
            return _Val("bool", ~_bool(vals[0]))
        if name == "selected":
            tokens = _str(vals[0]).astype(str).str.split()
            wanted = _str(vals[1]).astype(str)
            return _Val("bool", pd.Series([w in t for t, w in zip(tokens, wanted)], index=tokens.index, dtype=bool))
        if name == "count-selected":
            return _Val("num", _str(vals[0]).astype(str).str.split().str.len().astype(float))
        if name == "string-length":
            return _Val("num", _str(vals[0]).astype(str).str.len().astype(float))
        if name == "regex":
            pattern = _str(vals[1]).iloc[0] if len(vals[1].s) else ""
            return _Val("bool", _str(vals[0]).astype(str).str.contains(pattern, regex=True))
        if name == "number":
            return _Val("num", _num(vals[0]))
        if name == "int":
            return _Val("num", np.trunc(_num(vals[0])))
        if name == "if":
            cond = _bool(vals[0])
            if vals[1].kind == vals[2].kind == "num":
                return _Val("num", _num(vals[1]).where(cond, _num(vals[2])))
            return _Val("str", _str(vals[1]).where(cond, _str(vals[2])))
        idx = _index(e, h, c)
        return _Val("bool", pd.Series(name == "true", index=idx, dtype=bool))
    return fn


def compile_expression(source: str, *, where: str = "expression", choice_context: bool = False) -> Expression:
    """Translate an XLSForm expression into a vectorised evaluator, or raise `ExpressionError`.

    Examples
    --------
    >>> e = compile_expression(". >= 0 and . <= ${total}")
    >>> sorted(e.references), e.uses_self
    (['total'], True)
    >>> data = pd.DataFrame({"n": pd.array([3, 9, None], dtype="Int64"), "total": pd.array([5, 5, 5], dtype="Int64")})
    >>> specs = {"n": ItemSpec("n", "integer"), "total": ItemSpec("total", "integer")}
    >>> e.evaluate(data, specs, current="n").tolist()
    [True, False, False]
    >>> compile_expression("today() > ${x}", where="item us_x")
    Traceback (most recent call last):
    ...
    analysis.ingest.validate.ExpressionError: item us_x: expression 'today() > ${x}': function today() is not supported; supported: . ${name} numbers 'text' = != < <= > >= + - * div mod and or ( ) count-selected false if int not number regex selected string-length true
    """
    parser = _Parser(source, where, choice_context)
    fn = parser.parse()
    return Expression(source, frozenset(parser.refs), parser.uses_self, fn)


# --------------------------------------------------------------------------------------------
# Rules of one instrument
# --------------------------------------------------------------------------------------------
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


def _join_relevance(parts: Iterable[str | None]) -> str | None:
    """``(a) and (b)`` for the non-empty parts (group relevance is inherited by its items)."""
    kept = [p.strip() for p in parts if p and p.strip()]
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else " and ".join(f"({p})" for p in kept)


#: XLSForm types that hold no answer column (display only).
_NO_DATA_TYPES = frozenset({"note", "begin_group", "end_group", "begin_repeat", "end_repeat"})


def spec_from_instrument(instrument) -> InstrumentSpec:
    """Flatten an `analysis.instruments.Instrument` into the `InstrumentSpec` validation uses.

    Group relevance is joined into each item's ``relevant`` (an item is asked only when its
    group is), group names and labels become the item's path (Kobo headers such as
    ``<group>/<item>``), and a choice's ``filters`` become its attributes.

    Examples
    --------
    >>> from analysis.instruments import load
    >>> spec = spec_from_instrument(load("member"))
    >>> party = spec.by_role("party")[0].name
    >>> adm = [it for it in spec.items if it.construct == "adm"][0]
    >>> adm.relevant == f"${{{party}}} = 'no'", len(adm.group_path)
    (True, 1)
    """
    groups = {g.name: g for g in getattr(instrument, "groups", ())}
    scale = {i.name for i in instrument.scale_items}
    items = []
    for it in instrument.items:
        kind = it.base_type
        if kind in _NO_DATA_TYPES:
            continue
        group = groups.get(it.group) if it.group else None
        items.append(ItemSpec(
            name=it.name,
            kind=kind,
            list_name=it.list_name,
            label_vi=it.label_vi or "",
            label_en=it.label_en or "",
            required=bool(it.required),
            relevant=_join_relevance([group.relevant if group else None, it.relevant]),
            constraint=it.constraint or None,
            constraint_message_vi=it.constraint_message_vi or None,
            constraint_message_en=it.constraint_message_en or None,
            choice_filter=it.choice_filter or None,
            role=it.role,
            construct=it.construct if it.name in scale else None,
            reverse=bool(it.reverse),
            group_path=(group.name,) if group else (),
            group_labels_vi=(group.label_vi,) if group and group.label_vi else (),
            group_labels_en=(group.label_en,) if group and group.label_en else (),
        ))
    choices: dict[str, list[ChoiceSpec]] = {}
    for c in instrument.choices:
        choices.setdefault(c.list_name, []).append(ChoiceSpec(
            code=str(c.name), label_vi=c.label_vi or "", label_en=c.label_en or "", missing=bool(c.missing),
            value=c.value, attributes=dict(c.filters)))
    return InstrumentSpec(instrument.name, str(instrument.version), tuple(items),
                          {k: tuple(v) for k, v in choices.items()}, anonymous=bool(getattr(instrument, "anonymous", True)))


__all__ += ["spec_from_instrument", "typed_answers"]


def typed_answers(frame: pd.DataFrame, spec: InstrumentSpec) -> pd.DataFrame:
    """Answers held as Python values (codes, ints, None) in the processed dtypes validation expects.

    Integer items become nullable ``Int64`` (a non-integral value raises instead of being
    truncated); every other item becomes ``string``. Used by code that builds answers itself —
    the demo generator and the import tests — never on received files, which go through
    `analysis.ingest.importer`.
    """
    out = {}
    for it in spec.items:  # a loop over items, not respondents
        col = frame[it.name].astype(object)
        if it.kind == "integer":
            out[it.name] = pd.array(col.where(col.notna(), None).to_numpy(), dtype="Int64")
        else:
            out[it.name] = col.astype("string")
    return pd.DataFrame(out, index=frame.index)
