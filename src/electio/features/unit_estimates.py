"""Estimated arrondissement rows as known on an as-of date (docs/units.md, rule for the model).

The ETL splits a city total published by commune only over its arrondissements with the shares of
a reference ballot that may be later than a replay's as-of date (euro2019 of Lyon: euro2024). Such
a row cannot reach that replay; :func:`reestimate` rebuilds it with what was known then: the same
split (each bloc's voix by the unit shares of that bloc, each count by that count's shares) from
the reference ballot the ETL rule would choose among the ballots measured before the date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from electio.harmonise.units import reference_ballot

COUNTS = ("inscrits", "votants", "exprimes")


def _split(total: pd.Series, reference: pd.DataFrame, voix: list[str]) -> pd.DataFrame:
    """The city row ``total`` spread over the units of ``reference`` (one row per unit, floats)."""
    out = pd.DataFrame({"code_commune": reference["code_commune"].to_numpy()})
    exprimes = reference["exprimes"].to_numpy(float)
    for column in [*COUNTS, *voix]:
        weights = reference[column].fillna(0).to_numpy(float) if column in reference else exprimes
        if weights.sum() <= 0:
            weights = exprimes
        out[column] = np.nan if pd.isna(total[column]) else float(total[column]) * weights / weights.sum()
    return out


def reestimate(results: pd.DataFrame, city: pd.DataFrame, ballots: pd.DataFrame, parents: dict[str, str]) -> pd.DataFrame:
    """Unit rows for each (ballot, city) of ``city`` (city-level rows, same columns as ``results``)
    that has no unit row in ``results``, split with the nearest measured ballot of ``results``."""
    if city.empty or not parents:
        return results.iloc[:0]
    voix = [c for c in results.columns if c.startswith("voix_")]
    unit_rows = results.assign(_parent=results["code_commune"].map(parents))
    info = ballots.assign(tour=1).set_index("scrutin_id")
    out = []
    for total in city.itertuples(index=False):
        total = pd.Series(total._asdict())
        own = unit_rows[unit_rows["_parent"] == total["code_commune"]]
        if (own["scrutin_id"] == total["scrutin_id"]).any():
            continue
        known = own.loc[~own["estime"], "scrutin_id"].unique()
        target = info.loc[total["scrutin_id"]].to_dict() | {"scrutin_id": total["scrutin_id"]}
        reference = reference_ballot(pd.Series(target), info.loc[known].reset_index()) if len(known) else None
        if reference is None:
            continue
        rows = _split(total, own[own["scrutin_id"] == reference], voix)
        out.append(rows.assign(scrutin_id=total["scrutin_id"], code_departement=total["code_departement"], estime=True,
                               date_estimation=info.loc[reference, "date_scrutin"]))
    return pd.concat(out, ignore_index=True)[results.columns] if out else results.iloc[:0]
