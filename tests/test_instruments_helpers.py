"""Helpers (no tests): small instrument files — a valid minimal member/unit pair in a temporary surveys/."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from analysis.config import SURVEYS_DIR

AGREE5 = """\
  agree5:
    - {name: "1", value: 1, label::vi: "Hoàn toàn không đồng ý"}
    - {name: "2", value: 2, label::vi: "Không đồng ý"}
    - {name: "3", value: 3, label::vi: "Phân vân"}
    - {name: "4", value: 4, label::vi: "Đồng ý"}
    - {name: "5", value: 5, label::vi: "Hoàn toàn đồng ý"}
    - {name: "9", missing: true, label::vi: "Không biết / không trả lời"}
  yesno:
    - {name: "yes", value: 1, label::vi: "Có"}
    - {name: "no", value: 0, label::vi: "Không"}
"""

MEMBER = """\
instrument: member
version: "1"
title::vi: "Phiếu thử"
constructs:
  cx: {label::vi: "Khái niệm thử", task_group: 1, objective: O1, min_items: 2}
  cy: {label::vi: "Khái niệm thử hai", task_group: 2, objective: O1, min_items: 2}
choices:
@CHOICES@
survey:
  - {type: select_one yesno, name: t_party, role: party, label::vi: "Đảng viên?"}
  - type: begin_group
    name: t_g_a
    label::vi: "Phần thử"
    items:
      - {type: select_one agree5, name: t_cx_01, construct: cx, label::vi: "Câu một"}
      - {type: select_one agree5, name: t_cx_02, construct: cx, label::vi: "Câu hai"}
      - {type: select_one agree5, name: t_cx_03, construct: cx, reverse: true, label::vi: "Câu ba"}
      - {type: select_one agree5, name: t_cy_01, construct: cy, label::vi: "Câu bốn"}
      - {type: select_one agree5, name: t_cy_02, construct: cy, label::vi: "Câu năm"}
      - {type: select_one agree5, name: t_cy_03, construct: cy, label::vi: "Câu sáu"}
@EXTRA@
"""

UNIT = """\
instrument: unit
version: "1"
title::vi: "Phiếu đơn vị thử"
choices:
@CHOICES@
survey:
  - {type: integer, name: u_total, label::vi: "Tổng số"}
  - {type: integer, name: u_done, label::vi: "Đã làm", constraint: ". <= ${u_total}"}
  - {type: select_one yesno, name: u_flag, label::vi: "Có không?"}
@EXTRA@
indicators:
  - {name: i_share, label::vi: "Tỷ lệ", formula: "u_done / u_total", unit: share, direction: higher, task_group: 3, objective: O3, target: {value: 1, year: 2025, per: unit}}
  - {name: i_flag, label::vi: "Cờ", formula: u_flag, unit: yes/no, direction: higher, task_group: 4, objective: O1}
  - {name: i_five, label::vi: "Năm", formula: u_total, unit: count, direction: higher, task_group: 5, objective: O2}
  - {name: i_six, label::vi: "Sáu", formula: u_done, unit: count, direction: lower, task_group: 6, objective: O2}
"""


def _fill(template: str, choices: str, extra: str, indent: str) -> str:
    extra = textwrap.indent(textwrap.dedent(extra).strip("\n"), indent)
    return template.replace("@CHOICES@", choices.rstrip("\n")).replace("@EXTRA@", extra)


def make_surveys(tmp_path: Path, *, member_extra: str = "", unit_extra: str = "",
                 member_text: str | None = None, unit_text: str | None = None,
                 choices: str = AGREE5) -> Path:
    """A surveys/ folder under *tmp_path* with task_groups.yaml and member/unit v1 files."""
    root = tmp_path / "surveys"
    (root / "member").mkdir(parents=True)
    (root / "unit").mkdir(parents=True)
    shutil.copy(SURVEYS_DIR / "task_groups.yaml", root / "task_groups.yaml")
    member = member_text if member_text is not None else _fill(MEMBER, choices, member_extra, "      ")
    unit = unit_text if unit_text is not None else _fill(UNIT, choices, unit_extra, "  ")
    (root / "member" / "v1.yaml").write_text(member, encoding="utf-8")
    (root / "unit" / "v1.yaml").write_text(unit, encoding="utf-8")
    return root
