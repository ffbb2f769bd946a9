"""Instruments layer: what the study asks and of whom.

`schema` loads and checks the questionnaires (``surveys/<name>/v<version>.yaml``) into a frozen
`Instrument`; `population` reads the population frame (data/population: units, margins), which
also supplies the instruments' list of units; `export` writes an instrument out as an XLSForm,
a printable questionnaire or a codebook; `cli` is ``python -m analysis instrument``.
Imports only `analysis.config`. The public names of `schema` are re-exported here, so
``from analysis import instruments; instruments.load("member")`` is the usual call.
"""

from analysis.instruments.schema import *  # noqa: F401,F403  (the public API of the layer)
from analysis.instruments.schema import __all__  # noqa: F401
