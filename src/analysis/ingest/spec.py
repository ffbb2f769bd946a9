"""The part of an instrument that import, validation and quality flags need, in one flat shape.

`spec_from_instrument` flattens an `analysis.instruments.Instrument` (groups, skip logic,
choice filters) into an `InstrumentSpec`: items with their effective relevance, choice lists
with their attributes. Every ingest module reads this shape, never the instrument itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["ChoiceSpec", "ItemSpec", "InstrumentSpec", "spec_from_instrument", "typed_answers"]


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
