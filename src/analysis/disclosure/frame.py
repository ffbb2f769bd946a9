"""The population frame as the disclosure layer needs it: unit nesting and unit identifiers.

:func:`unit_hierarchy` gives the unit -> organization nesting passed as ``hierarchy=`` to
:func:`analysis.disclosure.protect_table`, the attacker and the export;
:func:`unit_identifiers` gives the unit codes and names that comment screening withholds.
Both read the frame (:func:`analysis.instruments.population.load_units`) unless given the
units. :func:`role_column` names a column after the instrument's item playing a role, as the
processed data do.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["role_column", "unit_hierarchy", "unit_identifiers"]


def role_column(instrument: object, role: str) -> str:
    """The instrument's item playing *role*, or *role* itself when it is not a role.

    Examples
    --------
    >>> from analysis.instruments import load
    >>> ins = load("member")
    >>> role_column(ins, "unit") == ins.role_item("unit").name, role_column(ins, "my_column")
    (True, 'my_column')
    """
    try:
        item = instrument.role_item(role)  # type: ignore[attr-defined]
    except ValueError:  # not a role name: a column name given directly
        return role
    return item.name if item is not None else role


def unit_hierarchy(instrument: object | None = None, units: pd.DataFrame | None = None) -> pd.DataFrame:
    """The unit -> organization nesting for ``hierarchy=``, with the data's column names.

    Parameters
    ----------
    instrument : Instrument, optional
        When given, the columns are named after the items with roles ``unit`` and ``org`` (as in
        the processed data and in estimate tables grouped by them); else ``unit`` and ``org``.
    units : DataFrame, optional
        ``unit_id, org`` (default: :func:`analysis.instruments.population.load_units`).

    Returns
    -------
    DataFrame
        Two columns, finest first.

    Examples
    --------
    >>> h = unit_hierarchy()
    >>> list(h.columns), h.iloc[0].tolist(), len(h)
    (['unit', 'org'], ['CDVC01', 'CDVC'], 103)
    """
    if units is None:
        from analysis.instruments.population import load_units

        units = load_units()
    cols = ("unit", "org") if instrument is None else (role_column(instrument, "unit"), role_column(instrument, "org"))
    return pd.DataFrame({cols[0]: units["unit_id"].astype(str).to_numpy(), cols[1]: units["org"].astype(str).to_numpy()})


def unit_identifiers(units: pd.DataFrame | None = None) -> list[str]:
    """Codes and names of every unit (for ``screen_comments(identifiers=...)``).

    Examples
    --------
    >>> ids = unit_identifiers()
    >>> ids[:3], len(ids)
    (['CDVC01', 'Cơ sở CĐVC 01', 'Trade Union unit 01'], 309)
    """
    if units is None:
        from analysis.instruments.population import load_units

        units = load_units()
    cols = [c for c in ("unit_id", "name_vi", "name_en") if c in units.columns]
    return [str(v) for row in units[cols].itertuples(index=False) for v in row if str(v).strip()]

