"""Comparability between two versions of one instrument: which items can be compared across waves.

`comparable_items` pairs the items of two versions — same name, type, Vietnamese wording and
choice list, or a researcher's ``comparable_to`` — and gives the reason for every item left
unpaired; `ItemComparison` holds the result, for items and for constructs.
`analysis.instruments.checks` uses it to require a new name for an item that changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.instruments.model import META_TYPES, Instrument, Item

__all__ = ["ItemComparison", "comparable_items"]


@dataclass(frozen=True)
class ItemComparison:
    """Which items (and constructs) of two instrument versions can be compared.

    ``comparable`` pairs ``(name in a, name in b)``; ``not_comparable`` pairs
    ``(name, reason)`` for items of either version with no comparable partner.
    ``constructs`` lists constructs whose items are all comparable; ``not_comparable_constructs``
    gives ``(construct, reason)`` for the others.
    """

    a: str
    b: str
    comparable: tuple[tuple[str, str], ...]
    not_comparable: tuple[tuple[str, str], ...]
    constructs: tuple[str, ...]
    not_comparable_constructs: tuple[tuple[str, str], ...]

    def names_a(self) -> tuple[str, ...]:
        return tuple(x for x, _ in self.comparable)

    def names_b(self) -> tuple[str, ...]:
        return tuple(y for _, y in self.comparable)


def _same_scale(a: Instrument, ia: Item, b: Instrument, ib: Item) -> bool:
    if ia.type != ib.type:
        return False
    if ia.list_name is None:
        return True
    key = lambda ins, it: tuple((c.name, c.label_vi, c.value, c.missing) for c in ins.choice_list(it.list_name))
    return key(a, ia) == key(b, ib)


def comparable_items(instrument_a: Instrument, instrument_b: Instrument) -> ItemComparison:
    """Match the items of two versions of one instrument for cross-wave comparison.

    Rules: an item with the same name, type, Vietnamese wording and choice list in both
    versions is comparable; an item of one version that declares ``comparable_to: <name>`` of
    the other is comparable with it (a researcher's judgement that a small edit kept the
    meaning); everything else is not comparable, with the reason. Metadata items are skipped.

    Examples
    --------
    >>> from analysis.instruments import load
    >>> m = load("member")
    >>> cmp = comparable_items(m, m)
    >>> len(cmp.not_comparable), len(cmp.comparable) == len(m.items) - 2
    (0, True)
    """
    a, b = instrument_a, instrument_b
    if a.name != b.name:
        raise ValueError(f"cannot compare items of different instruments ({a.name!r}, {b.name!r})")
    la, lb = f"v{a.version}", f"v{b.version}"
    items_a = [i for i in a.items if i.base_type not in META_TYPES]
    items_b = [i for i in b.items if i.base_type not in META_TYPES]
    pairs: list[tuple[str, str]] = []
    not_comp: list[tuple[str, str]] = []
    matched_a: set[str] = set()
    for ib in items_b:
        partner = None
        if a.has_item(ib.name):
            ia = a.item(ib.name)
            if ia.label_vi == ib.label_vi and _same_scale(a, ia, b, ib):
                partner = ia.name
            else:
                matched_a.add(ia.name)
                reason = (f"wording or scale changed between {la} and {lb} under the same name "
                          "(a changed item needs a new name)")
                not_comp.append((ib.name, reason))
                continue
        else:
            for candidate in (ib.comparable_to,):
                if candidate and a.has_item(candidate):
                    partner = candidate
            if partner is None:
                back = [ia.name for ia in items_a if ia.comparable_to == ib.name]
                partner = back[0] if back else None
        if partner is not None:
            pairs.append((partner, ib.name))
            matched_a.add(partner)
        elif ib.replaces and a.has_item(ib.replaces):
            not_comp.append((ib.name, f"replaces {ib.replaces} of {la} with a changed wording or scale"))
            matched_a.add(ib.replaces)
            not_comp.append((ib.replaces, f"replaced by {ib.name} in {lb}; not comparable"))
        else:
            not_comp.append((ib.name, f"only in {lb}"))
    for ia in items_a:
        if ia.name not in matched_a:
            not_comp.append((ia.name, f"only in {la}"))
    pair_b = {y: x for x, y in pairs}
    ok_constructs, bad_constructs = [], []
    names_a_construct = {c.name for c in a.constructs}
    for c in b.constructs:
        if c.name not in names_a_construct:
            bad_constructs.append((c.name, f"only in {lb}"))
            continue
        in_a = set(a.construct(c.name).items)
        mapped = {pair_b.get(n) for n in c.items}
        if None in mapped or mapped != in_a:
            bad_constructs.append((c.name, "its items are not all comparable: " + ", ".join(
                sorted(n for n in c.items if n not in pair_b) + sorted(in_a - mapped - {None}))))
        else:
            ok_constructs.append(c.name)
    for c in a.constructs:
        if c.name not in {x.name for x in b.constructs}:
            bad_constructs.append((c.name, f"only in {la}"))
    return ItemComparison(a=f"{a.name} {la}", b=f"{b.name} {lb}", comparable=tuple(pairs),
                          not_comparable=tuple(not_comp), constructs=tuple(ok_constructs),
                          not_comparable_constructs=tuple(bad_constructs))
