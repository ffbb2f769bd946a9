"""Study layer: this project's analysis recipes, the one place that combines the layers below.

The pipeline notebooks call `recipes` (re-exported here: ``study.load_member(…)``).
"""

from analysis.study.recipes import *  # noqa: F401,F403  (what the notebooks call)
from analysis.study.recipes import __all__  # noqa: F401
