"""URSSAF private-sector salaried headcount by commune, 2014..2024 (PTOD derived series).

Parquet, long: ``code, echelon, year, eff_total, indice_fr_2014``. Only ``echelon ==
"communes"`` rows are kept (uu, bv, epci, aav, ze, dep, reg, france aggregates are dropped);
``indice_fr_2014`` (an index vs France, 0 for communes) is not kept. ``eff_total`` is the
headcount summed over APE sectors by the PTOD author (year-end vs annual average not
documented; URSSAF publishes year-end headcounts). Small values, 0 included, are genuine
(0 = establishments with no employee at the date; 1..4 are published as such): no secret
flag. A commune with no private establishment has no row (not a zero).

Paris, Lyon and Marseille appear only by arrondissement municipal: summed on 75056, 69123,
13055 (flagged ``derive``). Codes: COG **2021** (checked against the COGugaison lists: no
code outside it). ``ligne_source`` is the 1-based row number in the parquet file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from electio.parse.indicators_common import (
    OK,
    finalize,
    keep_communes,
    parse_numbers,
    read_parquet,
    require_columns,
    sum_arrondissements,
)

COG = 2021
INDICATEUR = "effectifs_salaries_prives"
LEVEL = "communes"


def parse_headcount(path: Path) -> pd.DataFrame:
    """Long frame of ``effectifs_salaries_prives`` per commune and year."""
    path = Path(path)
    frame = read_parquet(path)
    require_columns(frame, ["code", "echelon", "year", "eff_total"], path)
    frame = keep_communes(frame[frame["echelon"] == LEVEL], "code", path)
    valeur, _ = parse_numbers(
        frame["eff_total"].astype(str), frame["_ligne"], path, "eff_total", secret_tokens=frozenset()
    )
    annee, _ = parse_numbers(frame["year"].astype(str), frame["_ligne"], path, "year", secret_tokens=frozenset())
    out = pd.DataFrame(
        {
            "code_commune_source": frame["code"],
            "cog_annee": COG,
            "indicateur": INDICATEUR,
            "annee": annee.astype("Int64"),
            "valeur": valeur,
            "qualite": OK,
            "ligne_source": frame["_ligne"],
        }
    )
    return sum_arrondissements(finalize(out))
