"""Instruments layer: the questionnaires as code (``surveys/<name>/v<version>.yaml``).

`schema` loads and checks the YAML into a frozen `Instrument`; `export` writes it out as an
XLSForm, a printable questionnaire or a codebook; `cli` is ``python -m analysis instrument``.
Imports only `analysis.config`. The public names of `schema` are re-exported here, so
``from analysis import instruments; instruments.load("member")`` is the usual call.
"""

from analysis.instruments.schema import *  # noqa: F401,F403  (the public API of the layer)
from analysis.instruments.schema import __all__  # noqa: F401
