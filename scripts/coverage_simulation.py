"""Coverage of nominal 95% confidence intervals for construct means, by repeated sampling.

The synthetic population (`analysis.synthetic.members.population_scores`: every member's construct
scores, the values behind ``data/demo/truth.json``) is sampled again and again with the
generator's own response model (party members, veterans and women answer more often); each
sample is weighted as the reports weight it — units as strata with their member counts as fpc,
raked to the published org, sex and party margins — and the 95% interval of each construct
mean is checked against the population mean. Nominal intervals should cover 92–98% of the time.

    .venv/bin/python scripts/coverage_simulation.py [--reps 200] [--wave 2025] [--seed 20230324]

Prints one line per construct (coverage of the raked and of the unweighted interval, mean bias
and mean SE) and exits 0 when every raked coverage lies in the target range.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.instruments import population
from analysis.stats.design import SurveyDesign
from analysis.synthetic import members, world

__all__ = ["simulate", "main"]

TARGET = (0.92, 0.98)


def crossed_margins() -> dict[str, dict[str, int]]:
    """The finest published margins, org × sex and org × party, as two raking variables.

    The veterans' three women make a cell that is often empty in a sample: it is pooled with
    the veterans' men (the HCCB total is kept exactly).
    """
    out: dict[str, dict[str, int]] = {"org_sex": {}, "org_party": {}}
    for org, m in population.org_margins().items():
        for var, key in (("sex", "org_sex"), ("party", "org_party")):
            if min(m[var].values()) < 20:
                out[key][org] = sum(m[var].values())
            else:
                out[key].update({f"{org}_{lvl}": n for lvl, n in m[var].items()})
    return out


def _crossed_columns(frame: pd.DataFrame, margins: dict[str, dict[str, int]]) -> pd.DataFrame:
    frame = frame.copy()
    for var, key in (("sex", "org_sex"), ("party", "org_party")):
        cell = frame["org"] + "_" + frame[var]
        frame[key] = cell.where(cell.isin(list(margins[key])), frame["org"])
    return frame


def simulate(reps: int = 200, *, wave: str = "2025", seed: int = world.DEFAULT_SEED,
             constructs: Sequence[str] | None = None, crossed: bool = False) -> pd.DataFrame:
    """Coverage table: ``construct, truth, coverage, coverage_unweighted, mean_bias, mean_se, reps``.

    *crossed*: rake to `crossed_margins` (org × sex, org × party) instead of the overall org,
    sex and party margins.
    """
    cfg = world.SyntheticConfig(seed=seed)
    pop = members.population_scores(cfg, wave)
    names = list(constructs) if constructs else [c for c in pop.columns if c not in
                                                 ("person", "unit", "org", "unit_size", "sex", "age_group", "party",
                                                  "education", "theory", "position")]
    truth = pop[names].mean()
    margins = crossed_margins() if crossed else population.margins()
    rng = np.random.default_rng([seed, 99, int(wave)])
    hits = {c: [] for c in names}
    hits_unw = {c: [] for c in names}
    bias = {c: [] for c in names}
    ses = {c: [] for c in names}
    frame = pop[["unit", "org", "sex", "party", "unit_size", *names]].copy()
    frame["unit_size"] = frame["unit_size"].astype(float)
    if crossed:
        frame = _crossed_columns(frame, margins)
    for _ in range(reps):
        sample = frame[members.draw_respondents(cfg, pop, rng)].reset_index(drop=True)
        design = SurveyDesign(sample, strata="unit", fpc="unit_size", lonely_psu="adjust").rake(margins)
        for c in names:
            est = design.mean(c).iloc[0]
            hits[c].append(est["ci_low"] <= truth[c] <= est["ci_high"])
            bias[c].append(est["estimate"] - truth[c])
            ses[c].append(est["se"])
            x = sample[c].dropna()
            half = 1.959964 * x.std(ddof=1) / np.sqrt(len(x))
            hits_unw[c].append(abs(x.mean() - truth[c]) <= half)
    return pd.DataFrame({
        "construct": names, "truth": [truth[c] for c in names],
        "coverage": [np.mean(hits[c]) for c in names], "coverage_unweighted": [np.mean(hits_unw[c]) for c in names],
        "mean_bias": [np.mean(bias[c]) for c in names], "mean_se": [np.mean(ses[c]) for c in names], "reps": reps,
    })


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--wave", default="2025")
    parser.add_argument("--seed", type=int, default=world.DEFAULT_SEED)
    parser.add_argument("--crossed", action="store_true", help="rake to org × sex and org × party instead of org, sex, party")
    args = parser.parse_args(argv)
    table = simulate(args.reps, wave=args.wave, seed=args.seed, crossed=args.crossed)
    with pd.option_context("display.width", 120, "display.float_format", "{:.4f}".format):
        print(table.to_string(index=False))
    ok = table["coverage"].between(*TARGET).all()
    print(f"raked 95% intervals cover the truth {table['coverage'].min():.1%}–{table['coverage'].max():.1%} of the time "
          f"(target {TARGET[0]:.0%}–{TARGET[1]:.0%}): {'OK' if ok else 'OUT OF RANGE'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
