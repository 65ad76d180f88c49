"""Quality contract of poll scenarios: the shares of one scenario must add up.

- First round: 100 ± 3 % is complete; below, the scenario is kept and flagged incomplete
  (a compiler that publishes only the main lists, e.g. européennes 2024: 84–94 %); above, the
  file is wrong: an error naming the file and the row.
- Second round (duels): 100 ± 1 %, else an error.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from electio.errors import InputError

FIRST_ROUND_TOLERANCE = 3.0
SECOND_ROUND_TOLERANCE = 1.0


def scenario_sums(sondages: pd.DataFrame, intentions: pd.DataFrame) -> pd.Series:
    """Sum of the published shares per scenario (index = ``scenario``)."""
    return intentions.groupby("scenario")["intention"].sum().reindex(
        sondages["scenario"], fill_value=0.0)


def completeness(sondages: pd.DataFrame, intentions: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``somme_intentions`` and ``complet`` per scenario; an impossible sum raises :class:`InputError`
    naming ``path`` (the file of the shares) and the scenario's first share row."""
    sums = scenario_sums(sondages, intentions).astype(float).to_numpy()
    out = sondages.copy()
    out["somme_intentions"] = sums
    first = out["tour"] == 1
    over = first & (out["somme_intentions"] > 100 + FIRST_ROUND_TOLERANCE)
    duel = ~first & ((out["somme_intentions"] - 100).abs() > SECOND_ROUND_TOLERANCE)
    first_line = intentions.groupby("scenario")["ligne_source"].min()
    for mask, rule in ((over, f"premier tour : au plus 100 ± {FIRST_ROUND_TOLERANCE:g} %"),
                       (duel, f"second tour : 100 ± {SECOND_ROUND_TOLERANCE:g} %")):
        if mask.any():
            row = out[mask].iloc[0]
            line = first_line.get(row["scenario"])
            line = None if line is None or pd.isna(line) else int(line)
            raise InputError(path, f"sondage {row['id_source']} : la somme des intentions vaut {row['somme_intentions']:.2f} % "
                                   f"(attendu {rule})", line=line)
    out["complet"] = (out["somme_intentions"] - 100).abs() <= FIRST_ROUND_TOLERANCE
    return out
