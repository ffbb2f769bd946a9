"""The XLSForm expression subset, translated into vectorised evaluators.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.ingest.spec import ItemSpec

__all__ = ["ExpressionError", "Expression", "compile_expression"]


class ExpressionError(ValueError):
    """An instrument expression outside the supported XLSForm subset (an instrument error)."""


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
    analysis.ingest.expression.ExpressionError: item us_x: expression 'today() > ${x}': function today() is not supported; supported: . ${name} numbers 'text' = != < <= > >= + - * div mod and or ( ) count-selected false if int not number regex selected string-length true
    """
    parser = _Parser(source, where, choice_context)
    fn = parser.parse()
    return Expression(source, frozenset(parser.refs), parser.uses_self, fn)
