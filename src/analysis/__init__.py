"""Measuring whether Đề án 04-ĐA/ĐUK (Nghệ An, 2023) is working.

Survey instruments as code, import and validation of survey exports, weighting to the
population frame, design-based statistics checked against R, and parameterised reports.
See README.md for the two commands (`make report`, `make test`) and the layout.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
