"""Write the committed population frame in data/population/ (run once; output is committed).

What is real and what is synthetic
----------------------------------
* ``margins.csv`` and ``qualifications.csv`` hold the figures published with Đề án 04-ĐA/ĐUK
  (see shared/domain/PLAN_BRIEF.md): members, sex and party membership per organization, and
  members' qualifications for the three organizations together. Only the org × sex and
  org × party margins are published, not the full org × sex × party table, so that is what is
  stored.
* ``units.csv`` is **synthetic**: the plan publishes only the number of grassroots units per
  organization (48, 20, 35) and the organization totals. Unit sizes are drawn here, seeded, with
  a plausible spread, and adjusted so that they add up exactly to the published totals.

Run: ``.venv/bin/python scripts/make_population_frame.py`` (writes the three CSV files; the
same seed always gives byte-identical files).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

SEED = 20230324  # the date the plan was issued: any fixed seed would do
OUT = Path(__file__).resolve().parents[1] / "data" / "population"

# organization: (units, members, male, female, party members) — PLAN_BRIEF.md / the seed text
ORGS = {
    "CDVC": (48, 4816, 2360, 2456, 3534),
    "HCCB": (20, 315, 312, 3, 303),
    "DTN": (35, 1183, 366, 817, 483),
}
ORG_SHORT_VI = {"CDVC": "CĐVC", "HCCB": "HCCB", "DTN": "ĐTN"}
ORG_SHORT_EN = {"CDVC": "Trade Union", "HCCB": "Veterans", "DTN": "Youth Union"}
# Plausible unit-size bounds (members per grassroots unit) and log-normal spread per organization.
BOUNDS = {"CDVC": (30, 250, 0.55), "HCCB": (8, 30, 0.35), "DTN": (10, 80, 0.5)}
# Published qualifications of all members of the three organizations together.
QUALIFICATIONS = [
    ("education", "doctorate", 31),
    ("education", "master", 1396),
    ("education", "university", 4408),
    ("theory", "advanced", 647),
]


def unit_sizes(rng: np.random.Generator, n: int, total: int, lo: int, hi: int, sigma: float) -> list[int]:
    """*n* integer sizes within [lo, hi] that add up exactly to *total*."""
    raw = rng.lognormal(mean=0.0, sigma=sigma, size=n)
    sizes = np.clip(np.round(raw / raw.sum() * total), lo, hi).astype(int)
    # Move the rounding/clipping remainder one member at a time onto units that still have room,
    # chosen at random (seeded) so no single unit absorbs it all.
    while (gap := total - int(sizes.sum())) != 0:
        step = 1 if gap > 0 else -1
        room = np.flatnonzero(sizes < hi) if step > 0 else np.flatnonzero(sizes > lo)
        sizes[rng.choice(room)] += step
    return sizes.tolist()


def main() -> None:
    rng = np.random.default_rng(SEED)
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "units.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["unit_id", "org", "name_vi", "name_en", "members", "synthetic"])
        for org, (n_units, members, *_rest) in ORGS.items():
            lo, hi, sigma = BOUNDS[org]
            for i, size in enumerate(unit_sizes(rng, n_units, members, lo, hi, sigma), start=1):
                w.writerow([f"{org}{i:02d}", org, f"Cơ sở {ORG_SHORT_VI[org]} {i:02d}",
                            f"{ORG_SHORT_EN[org]} unit {i:02d}", size, "true"])
    with open(OUT / "margins.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["org", "variable", "level", "count"])
        for org, (n_units, members, male, female, party) in ORGS.items():
            w.writerow([org, "units", "all", n_units])
            w.writerow([org, "members", "all", members])
            w.writerow([org, "sex", "male", male])
            w.writerow([org, "sex", "female", female])
            w.writerow([org, "party", "yes", party])
            w.writerow([org, "party", "no", members - party])
    with open(OUT / "qualifications.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["variable", "level", "count"])
        w.writerows(QUALIFICATIONS)


if __name__ == "__main__":
    main()
