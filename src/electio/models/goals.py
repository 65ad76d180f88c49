"""Goals of the local model and its uncertainty, measured on every backtest case (issue 15).

For every (test ballot, territory, conditional flag) at the natural horizon, on the retained model:

* every bloc's 80 % coverage within ``BLOC_COVERAGE`` (a bloc that did not stand is not scored);
* every size class's 80 % coverage (mean over blocs) within ``CLASS_COVERAGE``;
* Brier of P(lead) over every commune × bloc below the leak-free base rate (``frequence_tete``);
* conditional mean bloc MAE ≤ ``MAE_GOAL`` points on the main test ballot.

Values are fractions (the MAE goal is given in fractions of exprimés, 1.8 points = 0.018, so
that every goal prints as a percentage) and the worst bloc or class is named.
"""

from __future__ import annotations

import pandas as pd

BLOC_COVERAGE = (0.70, 0.90)
CLASS_COVERAGE = (0.72, 0.88)
MAE_GOAL = 1.8
MEAN = "moyenne"
ABSTENTION = "abstention"
COLUMNS = ["scrutin_test", "territoire", "horizon_ans", "conditionnel", "objectif", "valeur", "detail", "atteint"]


def _worst(values: pd.Series, bounds: tuple[float, float]) -> tuple[float, str, bool]:
    """The value farthest outside (or nearest the edge of) ``bounds``, its label, and whether all are inside."""
    low, high = bounds
    distance = (values - (low + high) / 2).abs()
    label = str(distance.idxmax())
    return float(values[label]), label, bool(values.between(low, high).all())


def case_goals(rows: pd.DataFrame, reference: pd.DataFrame, main: bool) -> list[tuple[str, float, str, bool]]:
    """(goal, value, detail, reached) of one case from its ``model_evaluation`` rows (retained model and references)."""
    metric = rows.set_index(["bloc", "metrique"])["valeur"]
    goals = []
    blocs = rows[(rows["metrique"] == "couv80") & ~rows["bloc"].isin([MEAN, ABSTENTION])].set_index("bloc")["valeur"]
    if not blocs.empty:
        value, label, ok = _worst(blocs, BLOC_COVERAGE)
        goals.append(("couverture à 80 % de chaque bloc entre 70 % et 90 % (pire bloc)", value, label, ok))
    classes = rows[rows["metrique"].str.startswith("couv80_taille_") & (rows["bloc"] == MEAN)]
    if not classes.empty:
        series = classes.set_index(classes["metrique"].str.removeprefix("couv80_taille_"))["valeur"]
        value, label, ok = _worst(series, CLASS_COVERAGE)
        goals.append(("couverture à 80 % de chaque classe de taille entre 72 % et 88 % (pire classe)", value, label, ok))
    base = reference.set_index(["bloc", "metrique"])["valeur"].get((MEAN, "brier_blocs"))
    own = metric.get((MEAN, "brier_blocs"))
    if base is not None and own is not None and base > 0:
        goals.append(("Brier de P(tête) sous la référence sans fuite (rapport Brier / référence < 100 %)", float(own / base),
                      f"{own:.3f} contre {base:.3f}", bool(own < base)))
    mae = metric.get((MEAN, "mae"))
    if main and mae is not None and bool(rows["conditionnel"].iloc[0]):
        goals.append((f"MAE moyenne par bloc ≤ {MAE_GOAL:.1f} point (conditionnelle)".replace(".", ","), float(mae) / 100,
                      f"{mae:.2f} points", bool(mae <= MAE_GOAL)))
    return goals


def goal_table(evaluation: pd.DataFrame, retained: str, base_rate: str, main_test: str) -> pd.DataFrame:
    """Every goal on every case at its natural horizon (module doc)."""
    natural = evaluation.groupby(["scrutin_test", "territoire"])["horizon_ans"].transform("min")
    rows = evaluation[evaluation["horizon_ans"] == natural]
    out = []
    for (scrutin, territory, horizon, conditional), case in rows[rows["modele"] == retained].groupby(
            ["scrutin_test", "territoire", "horizon_ans", "conditionnel"]):
        reference = rows[(rows["modele"] == base_rate) & (rows["scrutin_test"] == scrutin) & (rows["territoire"] == territory)
                         & (rows["conditionnel"] == conditional)]
        for goal, value, detail, ok in case_goals(case, reference, scrutin == main_test):
            out.append((scrutin, territory, int(horizon), bool(conditional), goal, value, detail, ok))
    return pd.DataFrame(out, columns=COLUMNS)


# ─── Tables of the model card ────────────────────────────────────────────────────────────

def _natural(evaluation: pd.DataFrame) -> pd.DataFrame:
    natural = evaluation.groupby(["scrutin_test", "territoire"])["horizon_ans"].transform("min")
    return evaluation[evaluation["horizon_ans"] == natural]


def _case(frame: pd.DataFrame) -> pd.Series:
    return frame["scrutin_test"] + " " + frame["territoire"] + frame["conditionnel"].map({True: " cond", False: " uncond"})


def references_table(evaluation: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """Mean bloc MAE (points), MAE weighted by exprimés and Brier of P(lead) of ``models`` per case."""
    rows = _natural(evaluation)
    rows = rows[rows["modele"].isin(models) & (rows["bloc"] == MEAN) & rows["metrique"].isin(["mae", "mae_pond", "brier_blocs"])]
    table = rows.assign(cas=_case(rows)).pivot_table(index="modele", columns=["cas", "metrique"], values="valeur")
    return table.reindex([m for m in models if m in table.index])


def coverage_table(evaluation: pd.DataFrame, retained: str) -> pd.DataFrame:
    """80 % coverage of the retained model per bloc (with its cluster-bootstrap interval), joint and weighted, per case."""
    rows = _natural(evaluation)
    rows = rows[(rows["modele"] == retained) & rows["metrique"].isin(["couv80", "couv80_joint", "couv80_pond"])].copy()
    rows["ligne"] = rows["bloc"].where(rows["metrique"] == "couv80", rows["metrique"] + "_" + rows["bloc"])
    rows["texte"] = [f"{v:.2f}" + ("" if pd.isna(lo) else f" [{lo:.2f}–{hi:.2f}]") for v, lo, hi in zip(rows["valeur"], rows["ic_basse"], rows["ic_haute"], strict=True)]
    return rows.assign(cas=_case(rows)).pivot_table(index="ligne", columns="cas", values="texte", aggfunc="first").fillna("—")


def size_table(evaluation: pd.DataFrame, retained: str, noise_floor: str, labels: tuple[str, ...]) -> pd.DataFrame:
    """Per size class: retained MAE, noise floor MAE and 80 % coverage (mean over blocs), conditional cases."""
    rows = _natural(evaluation)
    rows = rows[rows["conditionnel"] & (rows["bloc"] == MEAN) & rows["modele"].isin([retained, noise_floor])]
    out = {}
    for label in labels:
        for model, metric, name in ((retained, f"mae_taille_{label}", "mae"), (noise_floor, f"mae_taille_{label}", "plancher"),
                                    (retained, f"couv80_taille_{label}", "couv80")):
            part = rows[(rows["modele"] == model) & (rows["metrique"] == metric)]
            for case, value in zip(_case(part), part["valeur"], strict=True):
                out.setdefault(label, {})[(case, name)] = value
    return pd.DataFrame(out).T


# ─── Replays (issue 14, item 5) ──────────────────────────────────────────────────────────

REPLAY_RETAINED = "retenu_rejoue"  # retained learner, replay's territory totals
REPLAY_PREVIOUS = "total_precedent_rejoue"  # same local model, previous territory model (comparable ballot's totals)
REPLAY_PERSISTENCE = "persistance_rejoue"
REPLAY_NOISE_FLOOR = "plancher_bruit_rejoue"
REPLAY_GOALS: tuple[tuple[str, str, str, str, float, float], ...] = (
    # (ballot, as-of date, metric, French label, low, high): the goals of issue 14 on the Rhône, replays as of that date
    ("euro2024_t1", "2024-05-15", "mae", "MAE moyenne par bloc ≤ 2,2 points", 0.0, 2.2),
    ("euro2024_t1", "2024-05-15", "acc_tete", "bloc en tête juste dans ≥ 95 % des communes", 0.95, 1.0),
    ("euro2024_t1", "2024-05-15", "couv80", "couverture des intervalles à 80 % entre 75 % et 85 %", 0.75, 0.85),
    ("pres2022_t1", "2022-03-10", "mae", "MAE moyenne par bloc ≤ 3,0 points", 0.0, 3.0),
)
REPLAY_COLUMNS = ["scrutin_test", "date_reference", "objectif", "valeur", "plancher_bruit", "atteint"]


def _replay_means(replays: pd.DataFrame) -> pd.DataFrame:
    """Mean-over-blocs rows of every replay (all size classes)."""
    if replays.empty:
        return replays
    rows = replays[(replays["bloc"] == MEAN) & (replays["classe_taille"] == "toutes")]
    return rows.assign(date_reference=pd.to_datetime(rows["date_reference"]).dt.date)


def replay_goal_table(replays: pd.DataFrame, retained: str, noise_floor: str) -> pd.DataFrame:
    """The goals of :data:`REPLAY_GOALS` measured on the replays (retained model), next to the noise floor of the MAE;
    a goal whose replay is absent is listed with no value and not reached."""
    rows = _replay_means(replays)
    out = []
    for scrutin, day, metric, label, low, high in REPLAY_GOALS:
        case = rows[(rows["scrutin_test"] == scrutin) & (rows["date_reference"] == pd.Timestamp(day).date()) & (rows["metrique"] == metric)] \
            if not rows.empty else rows
        value = case.loc[case["modele"] == retained, "valeur"]
        floor = case.loc[case["modele"] == noise_floor, "valeur"] if metric == "mae" else pd.Series(dtype=float)
        measured = float(value.iloc[0]) if not value.empty else float("nan")
        out.append((scrutin, day, label, measured, float(floor.iloc[0]) if not floor.empty else float("nan"),
                    bool(low <= measured <= high) if not value.empty else False))
    return pd.DataFrame(out, columns=REPLAY_COLUMNS)


def replay_table(replays: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """Per replayed ballot and as-of date: mean bloc MAE of ``models``, and the first model's lead accuracy,
    Brier of P(lead) over commune × bloc and 80 % / 95 % coverage."""
    rows = _replay_means(replays)
    if rows.empty:
        return pd.DataFrame()
    keys = ["scrutin_test", "date_reference", "horizon_ans"]
    mae = rows[rows["metrique"] == "mae"].pivot_table(index=keys, columns="modele", values="valeur").reindex(columns=models)
    mae.columns = [f"mae_{m}" for m in mae.columns]
    first = rows[(rows["modele"] == models[0]) & rows["metrique"].isin(["acc_tete", "brier_blocs", "couv80", "couv95"])]
    other = first.pivot_table(index=keys, columns="metrique", values="valeur")
    table = mae.join(other).sort_index()
    table.index = [f"{s} as of {d} (h{h})" for s, d, h in table.index]
    return table
