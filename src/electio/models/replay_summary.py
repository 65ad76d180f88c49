"""The replays of the whole forecast (issue 14) summarised for a client: one row per replayed ballot and as-of date.

Read by the report (:mod:`electio.outputs.report_replays`), the slides and the dashboard's accuracy page, from the
``model_evaluation`` rows whose ``date_reference`` is set (:mod:`electio.forecasts.replays`): mean bloc MAE (points)
of the retained model next to the previous territory model, persistence and the sampling-noise floor; the retained
model's leading-bloc accuracy, Brier of P(lead) and 80 % / 95 % coverage (fractions).
"""

from __future__ import annotations

import pandas as pd

from electio.analysis.figures import fr_number

from electio.models.goals import MEAN, REPLAY_NOISE_FLOOR, REPLAY_PERSISTENCE, REPLAY_PREVIOUS, REPLAY_RETAINED

REPLAY_SQL = """
    SELECT e.*, s.libelle AS libelle_scrutin, s.date_scrutin FROM model_evaluation e
    LEFT JOIN dim_scrutin s ON s.scrutin_id = e.scrutin_test
    WHERE e.date_reference IS NOT NULL AND e.modele LIKE '%_rejoue'"""
"""The replays' rows with their ballot's label and date (``dim_scrutin``)."""
MAE_COLUMNS = {REPLAY_RETAINED: "mae_retenu", REPLAY_PREVIOUS: "mae_total_precedent", REPLAY_PERSISTENCE: "mae_persistance",
               REPLAY_NOISE_FLOOR: "mae_plancher"}
RETAINED_METRICS = {"acc_tete": "acc_tete", "brier_blocs": "brier", "couv80": "couv80", "couv95": "couv95"}
GROUP_METRICS = {f"{m}_{g}": f"{m}_{g}" for g in ("arrondissements", "autres_communes") for m in ("mae", "acc_tete", "couv80")}
"""The retained model's scores on the arrondissements municipaux and on the other communes apart (issue 18)."""
COLUMNS = ["scrutin_test", "territoire", "libelle_scrutin", "date_scrutin", "date_reference", "horizon_ans", "avance", *MAE_COLUMNS.values(),
           *RETAINED_METRICS.values(), *GROUP_METRICS.values()]
HEADERS = {  # French column labels (report, dashboard)
    "libelle_scrutin": "Scrutin rejoué", "date_reference": "Prévision faite le", "avance": "Avant le vote",
    "mae_retenu": "Erreur du modèle retenu (points)", "mae_persistance": "Persistance (points)",
    "mae_total_precedent": "Ancien modèle de total (points)", "mae_plancher": "Plancher du hasard (points)",
    "acc_tete": "Bloc en tête juste", "couv80": "Couverture des intervalles à 80 %",
}

GROUP_HEADERS = {  # the arrondissements apart (dashboard)
    "libelle_scrutin": "Scrutin rejoué", "mae_arrondissements": "Erreur, arrondissements (points)",
    "acc_tete_arrondissements": "Bloc en tête juste, arrondissements", "couv80_arrondissements": "Couverture 80 %, arrondissements",
    "mae_autres_communes": "Erreur, autres communes (points)", "acc_tete_autres_communes": "Bloc en tête juste, autres communes",
}


def by_group(summary: pd.DataFrame) -> pd.DataFrame:
    """The one-month replays with the arrondissements' scores apart (empty without arrondissements municipaux)."""
    if summary.empty:
        return summary
    return summary[(summary["horizon_ans"] == 0) & summary["mae_arrondissements"].notna()].reset_index(drop=True)


REPLAYED_MEANING = (
    "Une prévision « rejouée » est la prévision complète que nous aurions remise ce jour-là, calculée avec les seuls "
    "résultats, sondages et indicateurs publiés avant cette date, puis comparée au vrai résultat de chaque commune. "
    "C'est l'erreur que le client constate : contrairement aux backtests conditionnels, où l'on donne au modèle le vrai "
    "résultat du département et où il ne fait que le répartir entre les communes, ici le résultat du département est "
    "lui aussi prévu."
)


def lead_time(vote: pd.Timestamp, as_of: pd.Timestamp, horizon: int) -> str:
    """How long before the vote the replay was made: « 25 jours » for the one-month replay, « 2 ans » otherwise."""
    if horizon >= 1:
        return f"{horizon} an{'s' if horizon > 1 else ''}"
    return f"{(pd.Timestamp(vote) - pd.Timestamp(as_of)).days} jours"


def replay_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (ballot, as-of date) of the replays' ``model_evaluation`` rows (:data:`REPLAY_SQL`), in vote then
    as-of order; empty (with :data:`COLUMNS`) when there is no replay."""
    if rows.empty:
        return pd.DataFrame(columns=COLUMNS)
    sizes = rows["classe_taille"] if "classe_taille" in rows else pd.Series("toutes", index=rows.index)
    means = rows[(rows["bloc"] == MEAN) & (sizes == "toutes")].assign(date_reference=lambda f: pd.to_datetime(f["date_reference"]))
    keys = ["scrutin_test", "territoire", "date_reference", "horizon_ans"]
    mae = means[means["metrique"] == "mae"].pivot_table(index=keys, columns="modele", values="valeur").reindex(columns=list(MAE_COLUMNS))
    retained = means[(means["modele"] == REPLAY_RETAINED) & means["metrique"].isin(list(RETAINED_METRICS))]
    other = retained.pivot_table(index=keys, columns="metrique", values="valeur").reindex(columns=list(RETAINED_METRICS))
    groups = rows[(rows["bloc"] == MEAN) & (rows["modele"] == REPLAY_RETAINED) & rows["metrique"].isin(list(GROUP_METRICS))]
    groups = groups.assign(date_reference=pd.to_datetime(groups["date_reference"]))
    by_group = groups.pivot_table(index=keys, columns="metrique", values="valeur").reindex(columns=list(GROUP_METRICS))
    table = mae.rename(columns=MAE_COLUMNS).join(other.rename(columns=RETAINED_METRICS)).join(by_group).reset_index()
    described = rows.drop_duplicates("scrutin_test").set_index("scrutin_test")
    table["libelle_scrutin"] = table["scrutin_test"].map(described["libelle_scrutin"] if "libelle_scrutin" in described else {}).fillna(table["scrutin_test"])
    dates = described["date_scrutin"] if "date_scrutin" in described else pd.Series(dtype="datetime64[ns]")
    table["date_scrutin"] = pd.to_datetime(table["scrutin_test"].map(dates))
    table["avance"] = [lead_time(v, d, int(h)) if pd.notna(v) else f"{int(h)} an(s)"
                       for v, d, h in zip(table["date_scrutin"], table["date_reference"], table["horizon_ans"], strict=True)]
    return table.sort_values(["date_scrutin", "scrutin_test", "date_reference"], ascending=[True, True, False])[COLUMNS].reset_index(drop=True)


def closest_replay(summary: pd.DataFrame) -> pd.Series | None:
    """The replay the client's experience is best judged on: the most recent ballot, replayed closest to its vote."""
    if summary.empty:
        return None
    latest = summary[summary["date_scrutin"] == summary["date_scrutin"].max()]
    return latest.sort_values("date_reference").iloc[-1]


def headline(summary: pd.DataFrame) -> str:
    """The message of the section and of its slide: the one-month replays' mean bloc MAE, as a range over the ballots
    when there are several (« Rejouée un mois avant le vote, la prévision se trompe de 2,8 à 5,2 points par bloc selon
    le scrutin »), else that of the replay closest to its vote (:func:`closest_replay`)."""
    month = summary[summary["horizon_ans"] == 0]["mae_retenu"].dropna() if not summary.empty else pd.Series(dtype=float)
    if len(month) > 1:
        low, high = fr_number(month.min(), 1), fr_number(month.max(), 1)
        spread = f"de {low} à {high}" if low != high else low
        return f"Rejouée un mois avant le vote, la prévision se trompe {spread} points par bloc selon le scrutin"
    row = closest_replay(summary)
    if row is None or pd.isna(row["mae_retenu"]):
        return "Aucune prévision rejouée dans l'entrepôt"
    name = str(row["libelle_scrutin"]).split(" (")[0]
    return f"Rejouée {row['avance']} avant le vote, la prévision « {name} » se trompe de {fr_number(row['mae_retenu'], 1)} points par bloc"
