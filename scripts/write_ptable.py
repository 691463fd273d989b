"""Write the cell-key method's published perturbation table, policies/ptable_counts.csv, from
the [ckm] section of policies/release.toml (run after changing max_noise, variance or small)."""

from __future__ import annotations

from pathlib import Path

from release._policy import load_policies
from release._ptable import build_ptable, ptable_csv

POLICIES = Path(__file__).resolve().parents[1] / "policies"


def main() -> None:
    ckm = load_policies(POLICIES).release.ckm
    table = build_ptable(ckm.max_noise, ckm.variance, ckm.small)
    (POLICIES / "ptable_counts.csv").write_text(ptable_csv(table), encoding="utf-8")


if __name__ == "__main__":
    main()
