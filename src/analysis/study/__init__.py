"""Study layer: the analysis recipes the pipeline notebooks call, one module per report section.

Each recipe is pure (DataFrames in, a tidy DataFrame out), reads the instrument and the study
file (study.yaml, `analysis.project`), never an item name: answers reach the report through
*roles* (``org``, ``unit``, ``sex``…), construct scores (named as the construct) and indicator
values (named as the indicator). Tables keep the statistics core's columns ``[wave, *by,
variable, estimate, se, ci_low, ci_high, n, deff]`` so that `analysis.disclosure.protect_table`
and `analysis.stats.compare` take them as they are.

Modules: `base` (shared columns and the significance rule), `data` (loading the waves),
`designs` (each wave's design and estimates), `versions` (the questionnaire version of each
wave, where a scale's series breaks), `unit_sheets` (one unit's feedback sheet), then one per section: `quality` (10),
`measurement` (20), `sentiment` (30), `units` (40), `impact` (50), `summary` (00).
Every public name is re-exported here: ``from analysis import study; study.load_responses("member", waves)``.
The top layer: imports every layer below it, and nothing imports it but the notebooks.

Examples
--------
>>> ROLE_COLUMNS[:3]
('org', 'unit', 'sex')
>>> significance_label(0.01, 0.2, lang="en"), significance_label(0.3, 0.2, lang="vi")
('significant increase', 'không thay đổi có ý nghĩa')
"""

from analysis.study.base import (  # noqa: F401
    ROLE_COLUMNS,
    WAVE,
    FLAGGED,
    ALPHA,
    STAT_COLUMNS,
    by_columns,
    significance_label,
    significant_rows,
    in_vietnamese,
)
from analysis.study.data import (  # noqa: F401
    role_columns,
    require_roles,
    frame_dir,
    unit_survey,
    groups,
    load_responses,
    load_units,
    import_counts,
    labels_for,
    unit_hierarchy,
    unit_identifiers,
    construct_names,
)
from analysis.study.designs import (  # noqa: F401
    WaveDesign,
    base_design,
    wave_design,
    designs_by_wave,
    estimate_means,
    estimate_with_total,
    model_design,
    raked_weights,
)
from analysis.study.quality import (  # noqa: F401
    response_rates,
    sample_composition,
    weight_summary,
    quality_effect,
)
from analysis.study.measurement import (  # noqa: F401
    reliability_table,
    item_statistics,
    misbehaving_sentence,
)
from analysis.study.sentiment import (  # noqa: F401
    item_distribution,
    likert_args,
    comments,
    comment_sample,
    likert_figures,
)
from analysis.study.versions import (  # noqa: F401
    SERIES_SEPARATOR,
    wave_instrument,
    construct_series,
    trend_series,
    version_note,
)
from analysis.study.unit_sheets import (  # noqa: F401
    REQUIREMENT_STATUS,
    unit_requirements,
    unit_standing,
    unit_scores,
    interval_words,
    unit_suggestions,
    SheetContext,
    sheet_context,
    sheet_content,
    sheet_contents,
)
from analysis.study.units import (  # noqa: F401
    unit_indicators,
    ATTAINMENT_COUNT_COLUMNS,
    CHANGE_COLUMNS,
    FOLLOW_UP_COLUMNS,
    indicator_estimates,
    indicator_texts,
    indicator_spread,
    indicator_attainment,
    attainment_texts,
    indicator_changes,
    change_texts,
    units_to_follow_up,
    follow_up_withheld,
    follow_up_note,
    follow_up_texts,
    unit_task_matrix,
    implementation_index,
    task_group_labels,
    unit_response,
    indicator_units,
    heatmap_input,
    task_group_short,
    indicator_change_sentences,
)
from analysis.study.impact import (  # noqa: F401
    changes_since_baseline,
    comparable_constructs,
    dose_response,
    change_sentences,
    comparability_text,
    model_assumptions,
    no_change_sentence,
    change_summary,
)
from analysis.study.summary import (  # noqa: F401
    ATTAINMENT_COLUMNS,
    target_attainment,
    withhold_attainment,
    member_changes,
    scorecard_by_group,
    attainment_by_group,
    dose_response_sentences,
)

__all__ = [
    "REQUIREMENT_STATUS",
    "unit_requirements",
    "unit_standing",
    "unit_scores",
    "interval_words",
    "unit_suggestions",
    "SERIES_SEPARATOR",
    "wave_instrument",
    "construct_series",
    "trend_series",
    "version_note",
    "ROLE_COLUMNS",
    "WAVE",
    "FLAGGED",
    "ALPHA",
    "STAT_COLUMNS",
    "by_columns",
    "significance_label",
    "significant_rows",
    "in_vietnamese",
    "role_columns",
    "require_roles",
    "frame_dir",
    "unit_survey",
    "groups",
    "load_responses",
    "load_units",
    "import_counts",
    "labels_for",
    "unit_hierarchy",
    "unit_identifiers",
    "construct_names",
    "WaveDesign",
    "base_design",
    "wave_design",
    "designs_by_wave",
    "estimate_means",
    "estimate_with_total",
    "model_design",
    "raked_weights",
    "response_rates",
    "sample_composition",
    "weight_summary",
    "quality_effect",
    "reliability_table",
    "item_statistics",
    "misbehaving_sentence",
    "item_distribution",
    "likert_args",
    "comments",
    "comment_sample",
    "likert_figures",
    "unit_indicators",
    "ATTAINMENT_COUNT_COLUMNS",
    "CHANGE_COLUMNS",
    "FOLLOW_UP_COLUMNS",
    "indicator_estimates",
    "indicator_texts",
    "indicator_spread",
    "indicator_attainment",
    "attainment_texts",
    "indicator_changes",
    "change_texts",
    "units_to_follow_up",
    "follow_up_withheld",
    "follow_up_note",
    "follow_up_texts",
    "unit_task_matrix",
    "implementation_index",
    "task_group_labels",
    "unit_response",
    "indicator_units",
    "heatmap_input",
    "task_group_short",
    "indicator_change_sentences",
    "changes_since_baseline",
    "comparable_constructs",
    "dose_response",
    "change_sentences",
    "comparability_text",
    "model_assumptions",
    "no_change_sentence",
    "change_summary",
    "ATTAINMENT_COLUMNS",
    "target_attainment",
    "withhold_attainment",
    "member_changes",
    "scorecard_by_group",
    "attainment_by_group",
    "dose_response_sentences",
]
