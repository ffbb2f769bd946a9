"""Disclosure layer: respondent anonymity in every output (strategy: `analysis.disclosure.protect`).

`policy` (config/disclosure.yaml), `protect` (minimum group size, complementary suppression,
pooling, sentences), `audit` (the attacker), `comments` (free-text screening), `report_audit`
(the whole report attacked at once), `export` (k-anonymous respondent files). Imports
`analysis.config`, `analysis.instruments` and `analysis.ingest.importer` (the frame, stored waves).
The public names are re-exported here: ``disclosure.protect_table(…)``.
"""

from analysis.disclosure.protect import *  # noqa: F401,F403  (the public API of the layer)
from analysis.disclosure.protect import __all__  # noqa: F401
