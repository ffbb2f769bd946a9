"""The parameters every pipeline notebook receives, checked before any file is read.

Names must be plain identifiers; values travel as Python objects through papermill's API (never
its CLI, which turns ``001`` into ``1``); ``-p`` strings stay strings unless a params file types
the name; instrument and wave ids pass `analysis.config.check_id`.
"""

from __future__ import annotations

import datetime as dt
import keyword
import re
from pathlib import Path
from typing import Any, Mapping

import yaml

from analysis import config
from analysis.ingest import waves as waves_mod
from analysis.report.errors import ParameterError

__all__ = ["COMMON_PARAMETERS", "LANGUAGES", "check_parameter_name", "parse_assignment", "load_params_file",
           "merge_parameters", "build_parameters"]

#: Parameters every pipeline notebook receives (see CONTRIBUTING.md, "Notebooks and reports").
COMMON_PARAMETERS: tuple[str, ...] = (
    "instrument",
    "wave",
    "baseline_wave",
    "waves",
    "lang",
    "output_dir",
    "min_group_size",
)
#: Computed by the runner; a params file or ``-p`` may not set them.
_COMPUTED_PARAMETERS = ("waves", "output_dir")
#: Languages the toolkit writes reports in (a study offers some of them: study.yaml `languages`).
LANGUAGES: tuple[str, ...] = ("vi", "en")


def check_parameter_name(name: object) -> str:
    """Return *name* if it can safely become a variable in the parameters cell.

    A name must be a Python identifier, not a keyword and not start with ``_`` (private names and
    dunders such as ``__builtins__`` could change the kernel's behaviour).

    Examples
    --------
    >>> check_parameter_name("region")
    'region'
    >>> check_parameter_name("x; import os")
    Traceback (most recent call last):
    ...
    analysis.report.errors.ParameterError: parameter name 'x; import os' is not allowed: use a Python identifier (letters, digits, '_'), not a keyword, not starting with '_'
    """
    if (not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name)
            or name.startswith("_") or not name.isascii()):
        raise ParameterError(
            f"parameter name {name!r} is not allowed: use a Python identifier (letters, digits, '_'), "
            "not a keyword, not starting with '_'"
        )
    return name


def parse_assignment(text: str) -> tuple[str, str]:
    """Split a ``-p name=value`` argument; the value stays a raw string.

    Examples
    --------
    >>> parse_assignment("code=001")
    ('code', '001')
    >>> parse_assignment("note=a=b")
    ('note', 'a=b')
    """
    name, sep, value = text.partition("=")
    if not sep:
        raise ParameterError(f"-p {text!r}: expected name=value (e.g. -p region=north)")
    name = check_parameter_name(name.strip())
    if name in COMMON_PARAMETERS:
        raise ParameterError(f"-p {name}=…: {name} has its own option (see --help) or is set by the runner")
    return name, value


def _check_value(name: str, value: object) -> object:
    """Values papermill can write as Python literals; dates become ISO strings."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_check_value(name, v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ParameterError(f"parameter {name}: mapping keys must be strings")
        return {k: _check_value(name, v) for k, v in value.items()}
    raise ParameterError(f"parameter {name}: unsupported value type {type(value).__name__} ({value!r})")


def load_params_file(path: Path | str) -> dict[str, Any]:
    """Read a YAML mapping of parameters (typed values: quote strings such as ``"001"``).

    It may set ``instrument``, ``wave``, ``baseline_wave``, ``lang``, ``min_group_size`` and any
    extra parameter; ``waves`` and ``output_dir`` are computed by the runner.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"params file {path} not found")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ParameterError(f"{path}: expected a mapping of name: value")
    out: dict[str, Any] = {}
    for name, value in doc.items():
        check_parameter_name(name)
        if name in _COMPUTED_PARAMETERS:
            raise ParameterError(f"{path}: {name} is computed by the runner and cannot be set")
        if name in ("instrument", "wave", "baseline_wave") and not isinstance(value, str):
            raise ParameterError(f"{path}: {name} must be a quoted string, e.g. {name}: \"{value}\"")
        out[name] = _check_value(name, value)
    return out


def _coerce_like(name: str, text: str, example: object) -> object:
    """Read a ``-p`` string as the type the params file gave *name* (strings stay raw)."""
    if example is None or isinstance(example, str):
        return text
    if isinstance(example, bool):
        lowered = text.strip().lower()
        if lowered in ("true", "yes", "1"):
            return True
        if lowered in ("false", "no", "0"):
            return False
    elif isinstance(example, int) and re.fullmatch(r"\s*[+-]?[0-9]+\s*", text):
        return int(text)
    elif isinstance(example, float):
        try:
            return float(text)
        except ValueError:
            pass
    else:  # list or mapping: YAML flow syntax, e.g. -p orgs=[CDVC, DTN]
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = None
        if isinstance(value, type(example)):
            return _check_value(name, value)
    raise ParameterError(f"-p {name}={text!r}: the params file gives {name} as "
                         f"{type(example).__name__} ({example!r}); give a value of that type")


def merge_parameters(file_params: Mapping[str, Any], cli_params: Mapping[str, str]) -> dict[str, Any]:
    """Extra parameters: the params file's, overridden by ``-p``.

    A ``-p`` value is a raw string, unless the params file gives that name a typed value
    (number, boolean, list…): then it is read as that type, or refused.

    Examples
    --------
    >>> merge_parameters({"count": 3, "code": "001"}, {"count": "7", "code": "002", "note": "1e3"})
    {'count': 7, 'code': '002', 'note': '1e3'}
    """
    merged = dict(file_params)
    for name, text in cli_params.items():
        merged[name] = _coerce_like(name, text, file_params.get(name))
    return merged


def build_parameters(instrument: str, wave: str, *, baseline_wave: str | None = None,
                     lang: str = "vi", min_group_size: int = config.MIN_GROUP_SIZE,
                     extra: Mapping[str, Any] | None = None,
                     processed_dir: Path | None = None) -> dict[str, Any]:
    """The parameters every notebook receives (all but ``output_dir``, added per run).

    Parameters
    ----------
    instrument, wave : str
        Checked ids; *wave* must be imported.
    baseline_wave : str, optional
        Wave compared against; the first imported wave by default.
    lang : {"vi", "en"}
    min_group_size : int
    extra : mapping, optional
        More parameters (names checked, values kept as given: strings stay strings).
    processed_dir : path, optional
        Where imported waves live (`analysis.config.PROCESSED_DIR` by default).

    Returns
    -------
    dict
        ``instrument, wave, baseline_wave, waves, lang, min_group_size`` then the extras.
    """
    config.check_id(instrument, "instrument")
    config.check_id(wave, "wave")
    if baseline_wave is not None:
        config.check_id(baseline_wave, "wave")
    if lang not in LANGUAGES:
        raise ParameterError(f"lang {lang!r} is not supported: use one of {', '.join(LANGUAGES)}")
    if isinstance(min_group_size, bool) or not isinstance(min_group_size, int) or min_group_size < 1:
        raise ParameterError(f"min_group_size must be a positive integer, not {min_group_size!r}")
    from analysis import disclosure

    try:  # the notebooks call load_policy(k=min_group_size): fail here, before any of them runs
        disclosure.load_policy(k=min_group_size)
    except ValueError as exc:  # DisclosureError is a ValueError
        raise ParameterError(f"min_group_size {min_group_size}: {exc}") from None
    extras = {}
    for name, value in (extra or {}).items():  # checked before any file is read
        check_parameter_name(name)
        if name in COMMON_PARAMETERS:
            raise ParameterError(f"parameter {name} is set by the runner or its own option, not as an extra")
        extras[name] = _check_value(name, value)
    imported = waves_mod.list_waves(instrument, processed_dir=processed_dir)
    if wave not in imported:
        raise FileNotFoundError(
            f"wave {wave!r} of instrument {instrument!r} has not been imported "
            f"(imported: {', '.join(imported) or 'none'}); run python -m analysis add-wave --instrument "
            f"{instrument} --wave {wave} FILE…"
        )
    used = [w for w in imported if w <= wave]
    baseline = baseline_wave or used[0]
    if baseline not in used:
        raise ParameterError(f"baseline wave {baseline!r} is not an imported wave up to {wave!r} ({', '.join(used)})")
    params: dict[str, Any] = {
        "instrument": instrument, "wave": wave, "baseline_wave": baseline, "waves": used,
        "lang": lang, "min_group_size": min_group_size,
    }
    params.update(extras)
    return params


