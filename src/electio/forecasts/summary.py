"""The forecasts' headline figures, computed once for every deliverable (report, slides, dashboard).

One central value: the **mean** of the simulated distribution (``fact_prevision.moyenne``). The
blocs' means sum to 100 % of the votes cast, whereas medians of skewed distributions do not (the
small blocs' medians are lower than their means). Intervals are the 10–90 % quantiles (80 %).
A commune's leading bloc is the bloc with the highest mean share (abstention excluded); its
probability of leading (``p_tete``) is shown beside it, never used to pick it.
"""

from __future__ import annotations

import pandas as pd

CENTRAL = "moyenne"
CENTRAL_LABEL = "moyenne des simulations"
KEYS = ("scenario", "horizon_ans", "scrutin_cible")
COLUMNS = (*KEYS, "bloc", CENTRAL, "q10", "q90", "p_tete", "communes_en_tete")


def leaders(rows: pd.DataFrame) -> pd.DataFrame:
    """Leading bloc of each commune (and target, scenario when present): highest mean share, abstention excluded.

    ``rows``: ``fact_prevision`` rows of communes (not the territory total). Ties go to the first bloc code.
    """
    shares = rows[rows["bloc"] != "abstention"]
    keys = [k for k in (*KEYS, "code_commune") if k in shares.columns]
    if shares.empty:
        return pd.DataFrame(columns=[*keys, "bloc", CENTRAL, "p_tete"])
    ordered = shares.sort_values([*keys, CENTRAL, "bloc"], ascending=[*([True] * len(keys)), False, True])
    return ordered.drop_duplicates(keys)[[*keys, "bloc", CENTRAL, "p_tete"]].reset_index(drop=True)


def summary(rows: pd.DataFrame, territory: str) -> pd.DataFrame:
    """Per scenario, target and bloc: the territory total's mean, 80 % interval, probability of leading,
    and the number of communes where the bloc leads (:func:`leaders`)."""
    keys = [k for k in KEYS if k in rows.columns]
    total = rows[rows["code_commune"] == territory]
    counts = (leaders(rows[rows["code_commune"] != territory]).groupby([*keys, "bloc"]).size()
              .rename("communes_en_tete").reset_index())
    out = total[[*keys, "bloc", CENTRAL, "q10", "q90", "p_tete"]].merge(counts, on=[*keys, "bloc"], how="left")
    out["communes_en_tete"] = out["communes_en_tete"].fillna(0).astype(int)
    out.loc[out["bloc"] == "abstention", "communes_en_tete"] = 0
    return out.sort_values([*keys, "bloc"]).reset_index(drop=True)


def headline(table: pd.DataFrame) -> pd.Series | None:
    """The leading bloc of one target's summary (highest mean, abstention excluded), or None."""
    shares = table[table["bloc"] != "abstention"]
    return None if shares.empty else shares.sort_values([CENTRAL, "bloc"], ascending=[False, True]).iloc[0]


def target_labels(stored: pd.DataFrame) -> dict[str, tuple[str, pd.Timestamp]]:
    """French label and date of each forecast target, from stored ``dim_scrutin_cible`` rows (those forecast)."""
    kept = stored[stored["prevu"].astype(bool)] if "prevu" in stored.columns else stored
    return {r.scrutin_cible: (r.libelle, pd.Timestamp(r.date_scrutin)) for r in kept.itertuples(index=False)}
