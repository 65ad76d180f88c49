"""INSEE establishments by salaried-size class, 2014 (Kaggle compilation, pre-merger codes).

Layout: ``,``-separated, UTF-8, ``CODGEO,LIBGEO,REG,DEP,E14TST,E14TS0ND,E14TS1,E14TS6,
E14TS10,E14TS20,E14TS50,E14TS100,E14TS200,E14TS500``; no empty cell. 36,681 codes = exactly
the COG **2014** (checked against the COGugaison list; before the 2015-2019 mergers), Lyon
as 69123 without arrondissements. The date of the stock (end of 2014, CLAP/REE) is not
documented by the compiler; ``annee`` = 2014 from the ``E14`` prefix.

Indicators: ``etablissements`` (E14TST, ``ok``), ``etablissements_1_9_salaries``
(E14TS1 + E14TS6) and ``etablissements_10_salaries_plus`` (E14TS10 … E14TS500), both sums of
size classes flagged ``derive``. The per-1,000-inhabitant rate is computed by ``derive_rates``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from electio.parse.indicators_common import (
    DERIVE,
    finalize,
    keep_communes,
    parse_numbers,
    read_text_table,
    require_columns,
)

COG = 2014
YEAR = 2014
CLASSES: dict[str, list[str]] = {
    "etablissements": ["E14TST"],
    "etablissements_1_9_salaries": ["E14TS1", "E14TS6"],
    "etablissements_10_salaries_plus": ["E14TS10", "E14TS20", "E14TS50", "E14TS100", "E14TS200", "E14TS500"],
}


def summed_columns(frame: pd.DataFrame, columns: list[str], path: Path) -> tuple[pd.Series, pd.Series]:
    """Sum of numeric columns (NA if any is NA) and its qualite (the first column's if single)."""
    parsed = [parse_numbers(frame[c], frame["_ligne"], path, c) for c in columns]
    if len(parsed) == 1:
        return parsed[0]
    values = pd.concat([v for v, _ in parsed], axis=1)
    total = values.sum(axis=1, skipna=False)
    qualite = pd.Series(DERIVE, index=frame.index).where(total.notna(), parsed[0][1])
    return total, qualite


def parse_establishments(path: Path) -> pd.DataFrame:
    """Long frame of establishments by size class, 2014."""
    path = Path(path)
    frame = read_text_table(path, sep=",")
    require_columns(frame, ["CODGEO", *(c for cols in CLASSES.values() for c in cols)], path)
    frame = keep_communes(frame, "CODGEO", path)
    parts = []
    for indicateur, columns in CLASSES.items():
        valeur, qualite = summed_columns(frame, columns, path)
        parts.append(
            pd.DataFrame(
                {
                    "code_commune_source": frame["CODGEO"],
                    "cog_annee": COG,
                    "indicateur": indicateur,
                    "annee": YEAR,
                    "valeur": valeur,
                    "qualite": qualite,
                    "ligne_source": frame["_ligne"],
                }
            )
        )
    return finalize(pd.concat(parts, ignore_index=True))
