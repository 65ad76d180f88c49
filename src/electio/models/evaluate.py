"""Orchestration of the model stage: backtests, metrics, choice of ``retenu``, importance, saving.

Chains of backtests:

* the warehouse's own territory (Rhône by default): every présidentielle / européenne first
  round with an earlier one to train on, at the natural horizon (all earlier ballots known)
  and at longer horizons (only ballots at least h years old known);
* optionally a France warehouse: européennes 2019 trained on every French commune, evaluated on
  France (``FR``) and on the département; it then replaces the département-only européennes
  2019 in the reported rows (the département chain still uses it for calibration and choice).

Rule for ``retenu``, fixed before any test result was seen: among the tested models (not the
baselines), the lowest mean, over the validation ballots — the ballots of the territory chain
dated before the main test ballot (présidentielle 2022 T1), at the natural horizon — of the
conditional mean bloc MAE; ties go to the simplest model (order of ``LEARNER_NAMES``).
"""

from __future__ import annotations

import time
from datetime import date
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from electio import __version__, config
from electio.atomic import staged_file
from electio.features.modelling_table import (
    ABSTENTION,
    ElectionData,
    available_horizons,
    build_modelling_table,
    has_indicators,
    load_election_data,
    outputs,
    table_hash,
)
from electio.models.backtest import Method, Prediction, all_methods, backtest, learner_forecaster, territory_errors, territory_truth
from electio.models.intervals import calibrate_chain
from electio.models.goals import (
    REPLAY_NOISE_FLOOR,
    REPLAY_PERSISTENCE,
    REPLAY_PREVIOUS,
    REPLAY_RETAINED,
    coverage_table,
    goal_table,
    references_table,
    replay_goal_table,
    replay_table,
    size_table,
)
from electio.models.intervals import SIZE_LABELS
from electio.models.learners import PooledLearner, make_learner
from electio.models.metrics import (
    ALL_SIZES,
    MEAN,
    PLAIN_FRENCH,
    base_rate_metrics,
    mae_points,
    mean_bloc_mae,
    noise_floor_metrics,
    prediction_metrics,
)

LEARNER_NAMES: tuple[str, ...] = ("ridge_logratio", "mixte_communes", "foret_aleatoire", "lightgbm")
MAIN_TEST = "pres2022_t1"  # the preferred main test ballot; the latest backtested one where it is not backtested (main_test)
MAIN_TEST_KEY = "scrutin_test_principal"  # model_card (section modele): the main test ballot of the run
FRANCE_TEST = "euro2019_t1"
LONGEST_HORIZON = 5
RETAINED = "retenu"
TERRITORY_MODEL = "total_territoire"
NOISE_FLOOR = "plancher_bruit"
BASE_RATE = "frequence_tete"
IMPORTANCE_REPEATS = 3
IMPORTANCE_MAX_COMMUNES = 5_000
RULE = (
    "Règle fixée avant de regarder le scrutin de test : parmi les modèles testés (hors références), "
    "celui dont la MAE moyenne par bloc, conditionnelle aux vrais totaux départementaux, est la plus faible "
    "en moyenne sur les scrutins de validation — ceux du territoire antérieurs au scrutin de test principal "
    "(présidentielle 2022, 1er tour), à l'horizon naturel ; à égalité, le plus simple."
)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Chain:
    """A backtest chain: data to train on, territories to evaluate, ballots to report."""

    data: ElectionData
    territories: tuple[str, ...]
    report: frozenset[str] | None = None  # None: every backtested ballot
    longer_horizons: bool = True
    label: str = ""


@dataclass
class ChainRun:
    """A chain's backtests: calibrated predictions per horizon table, and territory-model errors."""

    chain: Chain
    tables: dict[int | None, pd.DataFrame]
    predictions: dict[int | None, list[Prediction]]
    territory: pd.DataFrame


@dataclass
class EvaluationResult:
    """Everything the stage produced (tables for the warehouse and figures for the CLI)."""

    territoire: str
    chosen: str
    selection: pd.DataFrame
    evaluation: pd.DataFrame
    importance: pd.DataFrame
    predictions: pd.DataFrame
    card: pd.DataFrame
    horizons: pd.DataFrame
    notes: list[str]
    model_path: Path
    table_sha256: str
    timings: dict[str, float] = field(default_factory=dict)
    stored: dict[str, int] = field(default_factory=dict)
    model_sha256: str = ""
    as_of: pd.Timestamp | None = None  # date de référence : seules les données publiées avant elle ont servi
    replays: pd.DataFrame = field(default_factory=pd.DataFrame)  # model_evaluation rows of the replays (date_reference set)
    main_test: str = MAIN_TEST  # the main test ballot (:func:`main_test`)


# ─── Backtests ───────────────────────────────────────────────────────────────────────────

def horizon_tables(data: ElectionData, longer: bool, report: frozenset[str] | None) -> dict[int | None, pd.DataFrame]:
    """Natural modelling table (key None) and, if ``longer``, one table per longer horizon."""
    tables: dict[int | None, pd.DataFrame] = {None: build_modelling_table(data)}
    if not longer or tables[None].empty:
        return tables
    natural = tables[None].groupby("scrutin_id")["horizon_ans"].first()
    wanted = [s for s in natural.index if report is None or s in report]
    extra = {h for s in wanted for h in available_horizons(data.ballots, s, LONGEST_HORIZON) if h > natural[s]}
    for h in sorted(extra):
        tables[h] = build_modelling_table(data, horizon=h)
    return tables


def needed_ballots(table: pd.DataFrame, report: frozenset[str] | None) -> list[str] | None:
    """Ballots to backtest: the reported ones and every earlier one (their calibration); None = all."""
    if report is None:
        return None
    dates = table.groupby("scrutin_id")["date_scrutin"].first()
    last = dates[dates.index.isin(report)].max()
    return list(dates[dates <= last].index)


def run_chain(chain: Chain, methods: dict[str, Method], say: Progress) -> ChainRun:
    """Backtest every method on every horizon table of a chain and calibrate the intervals."""
    tables = horizon_tables(chain.data, chain.longer_horizons, chain.report)
    predictions = {}
    for horizon, table in tables.items():
        say(f"Backtests {chain.label} (horizon {'naturel' if horizon is None else f'{horizon} ans'})")
        predictions[horizon] = calibrate_chain(backtest(table, chain.data.blocs, methods, needed_ballots(table, chain.report))) if not table.empty else []
    natural = tables[None]
    errors = [territory_errors(rows, chain.data.blocs).assign(scrutin_test=sid) for sid, rows in natural.groupby("scrutin_id")]
    territory = pd.concat(errors) if errors else pd.DataFrame()
    return ChainRun(chain, tables, predictions, territory)


def reported(run: ChainRun, covered: set[tuple[str, str, int]]) -> list[tuple[Prediction, str]]:
    """(prediction, territory) pairs to report, one per (model, ballot, horizon, flag, territory),
    except the (ballot, territory, horizon) cases ``covered`` by another chain."""
    seen: set[tuple] = set()
    out = []
    for horizon in run.predictions:
        for p in run.predictions[horizon]:
            if run.chain.report is not None and p.scrutin_test not in run.chain.report:
                continue
            for territory in run.chain.territories:
                key = (p.modele, p.scrutin_test, p.horizon_ans, p.conditionnel, territory)
                if key in seen or (p.scrutin_test, territory, p.horizon_ans) in covered:
                    continue
                seen.add(key)
                out.append((p, territory))
    return out


def restrict(prediction: Prediction, territory: str) -> Prediction:
    """The prediction on one territory's communes (FR: all)."""
    return prediction if territory == "FR" else prediction.subset((prediction.rows["code_departement"] == territory).to_numpy())


# ─── Tables ──────────────────────────────────────────────────────────────────────────────

EVALUATION_COLUMNS = ["modele", "scrutin_test", "territoire", "horizon_ans", "conditionnel", "bloc", "metrique", "valeur",
                      "ic_basse", "ic_haute", "n_communes", "classe_taille"]


def evaluation_frame(pairs: Sequence[tuple[Prediction, str]], blocs: Sequence[str]) -> pd.DataFrame:
    """``model_evaluation`` rows of reported predictions, plus the two references that are not forecasts
    (noise floor and leak-free lead base rate), once per case."""
    rows = []
    references_done: set[tuple] = set()
    for p, territory in pairs:
        part = restrict(p, territory)
        if part.rows.empty:
            continue
        case = (p.scrutin_test, territory, p.horizon_ans, p.conditionnel)
        for row in prediction_metrics(part, blocs):
            rows.append((p.modele, *case, *row))
        if case not in references_done:
            references_done.add(case)
            rows += [(NOISE_FLOOR, *case, *row) for row in noise_floor_metrics(part, blocs)]
            rows += [(BASE_RATE, *case, *row) for row in base_rate_metrics(part, blocs)]
    return pd.DataFrame(rows, columns=EVALUATION_COLUMNS)


def territory_frame(run: ChainRun, covered: set[tuple[str, str, int]]) -> pd.DataFrame:
    """Errors of the territory model (|forecast − truth| in points, mean over départements)."""
    if run.territory.empty:
        return pd.DataFrame()
    natural = run.tables[None].groupby("scrutin_id")["horizon_ans"].first()
    rows = []
    backtested = {p.scrutin_test for p in run.predictions[None]}
    for sid, errors in run.territory.groupby("scrutin_test"):
        if sid not in backtested or (run.chain.report is not None and sid not in run.chain.report):
            continue
        for territory in run.chain.territories:
            if (sid, territory, int(natural[sid])) in covered:
                continue
            part = errors if territory == "FR" else errors[errors.index == territory]
            stood = run.chain.data.ballots.set_index("scrutin_id").loc[sid, list(run.chain.data.blocs)].to_numpy(bool)
            mae = 100 * part.drop(columns="scrutin_test").abs().mean()
            mae = mae.drop([b for b, ok in zip(run.chain.data.blocs, stood, strict=True) if not ok])  # a bloc that did not stand is not scored
            bloc_values = mae.drop(ABSTENTION)
            values = {**mae.to_dict(), MEAN: float(bloc_values[bloc_values > 0].mean())}
            rows += [(TERRITORY_MODEL, sid, territory, int(natural[sid]), False, b, "mae", float(v), np.nan, np.nan, 1, ALL_SIZES)
                     for b, v in values.items()]
    return pd.DataFrame(rows, columns=EVALUATION_COLUMNS)


def prediction_frame(pairs: Sequence[tuple[Prediction, str]], blocs: Sequence[str]) -> pd.DataFrame:
    """``model_prediction_backtest`` rows: one per commune and output."""
    names = outputs(blocs)
    frames = []
    for p, territory in pairs:
        part = restrict(p, territory)
        n, m = part.predicted.shape
        present = part.present.ravel()

        def flat(values: np.ndarray | None) -> np.ndarray:
            return np.full(n * m, np.nan) if values is None else values.ravel().astype(float)

        lead = None if part.lead_proba is None else np.column_stack([part.lead_proba, np.full(n, np.nan)])
        frame = pd.DataFrame({
            "modele": p.modele, "scrutin_test": p.scrutin_test, "territoire": territory, "horizon_ans": p.horizon_ans,
            "conditionnel": p.conditionnel, "code_commune": np.repeat(part.rows["code_commune"].to_numpy(), m),
            "bloc": np.tile(names, n), "part_observee": flat(part.observed), "part_prevue": flat(part.predicted),
            "borne_basse_80": flat(part.lower80), "borne_haute_80": flat(part.upper80),
            "borne_basse_95": flat(part.lower95), "borne_haute_95": flat(part.upper95), "proba_tete": flat(lead),
            "inscrits": np.repeat(part.rows["inscrits"].to_numpy(np.int64), m), "exprimes": np.repeat(part.rows["exprimes"].to_numpy(np.int64), m),
        })
        frames.append(frame[present])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def with_retained(frame: pd.DataFrame, chosen: str) -> pd.DataFrame:
    """``frame`` plus a copy of the chosen model's rows named ``retenu``."""
    return pd.concat([frame, frame[frame["modele"] == chosen].assign(modele=RETAINED)], ignore_index=True)


# ─── Choice of the retained model ────────────────────────────────────────────────────────

def main_test(run: ChainRun) -> str:
    """The main test ballot: présidentielle 2022 T1 when backtested, else the last backtested ballot."""
    tested = sorted({(p.date, p.scrutin_test) for p in run.predictions[None]})
    names = [s for _, s in tested]
    return MAIN_TEST if MAIN_TEST in names else names[-1]


def select_model(run: ChainRun, learners: Sequence[str]) -> tuple[str, pd.DataFrame]:
    """Apply the rule (module doc): returns the chosen learner and the selection table."""
    test = main_test(run)
    cutoff = next(p.date for p in run.predictions[None] if p.scrutin_test == test)
    territory = run.chain.territories[0]
    rows = [(p.modele, p.scrutin_test, mean_bloc_mae(restrict(p, territory)))
            for p in run.predictions[None] if p.conditionnel and p.date < cutoff]
    table = pd.DataFrame(rows, columns=["modele", "scrutin_validation", "mae_moyenne"])
    if table.empty:  # no validation ballot: the simplest model
        return learners[0], table
    means = table.groupby("modele")["mae_moyenne"].mean()
    chosen = min(learners, key=lambda name: (round(means.get(name, np.inf), 6), learners.index(name)))
    return chosen, table


# ─── Importance ──────────────────────────────────────────────────────────────────────────

def feature_family(name: str) -> str:
    """French family label of a stacked feature."""
    families = (("f_der_", "dernier scrutin"), ("f_meme_", "même type de scrutin"), ("f_moy_", "historique moyen"),
                ("f_ref_", "référence"), ("f_ind_", "indicateur local"), ("f_type_", "type de scrutin"))
    return next((label for prefix, label in families if name.startswith(prefix)), "commune et contexte")


PERMUTED_ROWS_PER_CALL = 200_000
"""Stacked rows predicted per call in :func:`permuted_predictions` (several permutations at once: fewer calls)."""


def permuted_predictions(learner: PooledLearner, x: np.ndarray, groups: np.ndarray, n_outputs: int,
                         orders: Sequence[tuple[int, np.ndarray]]) -> Iterator[np.ndarray]:
    """The learner's predictions (communes × outputs) with feature ``j`` permuted by ``order``, for each (j, order),
    in order; the permuted designs go through the learner in batches (each stacked row is predicted alone)."""
    n = len(x) // n_outputs
    batch = max(1, PERMUTED_ROWS_PER_CALL // max(len(x), 1))
    for start in range(0, len(orders), batch):
        chunk = orders[start:start + batch]
        shuffled = np.tile(x, (len(chunk), 1))
        for i, (j, order) in enumerate(chunk):
            shuffled[i * len(x):(i + 1) * len(x), j] = x[:, j].reshape(n_outputs, n)[:, order].ravel()
        values = learner.predict_stacked(shuffled, np.tile(groups, len(chunk)))
        for i in range(len(chunk)):
            yield values[i * len(x):(i + 1) * len(x)].reshape(n_outputs, n).T


def permutation_importance(learner: PooledLearner, rows: pd.DataFrame, repeats: int = IMPORTANCE_REPEATS, seed: int = 0) -> pd.DataFrame:
    """Rise of the MAE (points, per output and mean over blocs) when one stacked feature is permuted.

    The same permutation of communes is applied to every output's row of the feature, and the
    forecast goes through the whole pipeline (deviation → shares → raking to the true totals).
    """
    blocs = learner.blocs
    totals = territory_truth(rows, blocs)
    forecast = learner_forecaster(learner)
    names = outputs(blocs)
    observed = rows[[f"y_part_{o}" for o in names]].to_numpy(float)
    present = np.column_stack([rows[[f"present_{b}" for b in blocs]].to_numpy(bool), np.ones(len(rows), bool)])

    def errors(predict: Callable[[pd.DataFrame], np.ndarray]) -> np.ndarray:
        original = learner.predict
        learner.predict = predict  # type: ignore[method-assign]
        try:
            result = forecast(rows, totals)
        finally:
            learner.predict = original  # type: ignore[method-assign]
        return mae_points(observed, np.column_stack([result.shares, result.abstention]), present)

    x, _, groups = learner.design(rows)
    base = errors(lambda _rows: learner.predict_stacked(x, groups).reshape(len(names), len(rows)).T)
    rng = np.random.default_rng(seed)
    orders = [(j, rng.permutation(len(rows))) for j in range(len(learner.features)) for _ in range(repeats)]
    predicted = permuted_predictions(learner, x, groups, len(names), orders)
    records = []
    for j, feature in enumerate(learner.features):
        rises = np.array([errors(lambda _rows, p=next(predicted): p) - base for _ in range(repeats)])
        stood = present.any(axis=0)
        for k, name in enumerate(names):
            if stood[k]:
                records.append((name, feature, rises[:, k].mean(), rises[:, k].std()))
        bloc_mean = rises[:, :-1][:, stood[:-1]].mean(axis=1)
        records.append((MEAN, feature, bloc_mean.mean(), bloc_mean.std()))
    frame = pd.DataFrame(records, columns=["bloc", "variable", "importance", "ecart_type"])
    frame["famille"] = frame["variable"].map(feature_family)
    frame["rang"] = frame.groupby("bloc")["importance"].rank(ascending=False, method="first").astype(int)
    return frame.sort_values(["bloc", "rang"]).reset_index(drop=True)


def importance_frame(run: ChainRun, chosen: str, fast: bool) -> pd.DataFrame:
    """``model_importance`` rows of the chosen learner on the main test ballot (conditional)."""
    table, blocs = run.tables[None], run.chain.data.blocs
    test = main_test(run)
    rows = table[table["scrutin_id"] == test].reset_index(drop=True)
    learner = make_learner(chosen, blocs, fast).fit(table[table["date_scrutin"] < rows["date_scrutin"].iloc[0]])
    territory = run.chain.territories[0]
    if territory != "FR":
        rows = rows[rows["code_departement"] == territory].reset_index(drop=True)
    if len(rows) > IMPORTANCE_MAX_COMMUNES:  # France: a fixed random sample keeps the permutations affordable
        rows = rows.sample(IMPORTANCE_MAX_COMMUNES, random_state=0).reset_index(drop=True)
    frame = permutation_importance(learner, rows, repeats=1 if fast else IMPORTANCE_REPEATS)
    return frame.assign(modele=chosen, scrutin_test=test, territoire=territory)[
        ["modele", "scrutin_test", "territoire", "bloc", "variable", "famille", "importance", "ecart_type", "rang"]]


# ─── Saved model and model card ──────────────────────────────────────────────────────────

MODEL_SHA_KEY = "fichier_sha256"
AS_OF_KEY = "date_reference"
"""``model_card`` key (section ``modele``) of the saved model file's sha256."""


def models_dir() -> Path:
    """Where fitted models are saved."""
    return config.home() / "data" / "models"


def save_model(run: ChainRun, chosen: str, fast: bool, path: Path, as_of: pd.Timestamp | None = None) -> tuple[str, str]:
    """Fit the chosen learner on every target ballot and save it to ``path``; its (data hash, file sha256).

    The caller writes into a staging path (:func:`electio.atomic.staged_file`): an interrupted
    dump never leaves a truncated model under the final name.
    """
    table = run.tables[None]
    digest = table_hash(table)
    learner = make_learner(chosen, run.chain.data.blocs, fast).fit(table)
    joblib.dump({"modele": chosen, "learner": learner, "blocs": run.chain.data.blocs, "features": learner.features,
                 "table_sha256": digest, "scrutins_entrainement": sorted(table["scrutin_id"].unique()),
                 "territoire": run.chain.territories[0], "regle": RULE, "version": __version__,
                 "date_reference": None if as_of is None else as_of.date().isoformat()}, path)
    return digest, file_sha256(path)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a saved model file (recorded in ``model_card``, checked before loading)."""
    from electio.fetch import sha256_of

    return sha256_of(path)


def horizon_summary(evaluation: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """Cases per horizon: test ballots and commune forecasts, with the retained model's conditional MAE."""
    retained = predictions[(predictions["modele"] == RETAINED) & predictions["conditionnel"] & (predictions["bloc"] != ABSTENTION)]
    cases = retained.groupby(["horizon_ans", "territoire"]).agg(scrutins=("scrutin_test", lambda s: ", ".join(sorted(s.unique()))),
                                                                communes=("code_commune", "size"))
    cases["communes"] = retained.groupby(["horizon_ans", "territoire"]).apply(lambda f: len(f.drop_duplicates(["scrutin_test", "code_commune"])), include_groups=False)
    mae = evaluation[(evaluation["modele"] == RETAINED) & evaluation["conditionnel"] & (evaluation["bloc"] == MEAN) & (evaluation["metrique"] == "mae")]
    cases["mae_retenu"] = mae.groupby(["horizon_ans", "territoire"])["valeur"].mean()
    full = pd.MultiIndex.from_product([range(1, LONGEST_HORIZON + 1), sorted(evaluation["territoire"].unique())], names=["horizon_ans", "territoire"])
    out = cases.reindex(full.union(cases.index)).fillna({"scrutins": "", "communes": 0}).reset_index()
    return out.astype({"communes": int})


def card_frame(result: EvaluationResult, blocs: Sequence[str], runs: Sequence[ChainRun]) -> pd.DataFrame:
    """``model_card`` rows (territory, order, section, key, value)."""
    ev = result.evaluation
    main = ev[(ev["scrutin_test"] == result.main_test) & (ev["bloc"] == MEAN)]

    def metric(model: str, name: str, conditional: bool = True) -> str:
        value = main[(main["modele"] == model) & (main["metrique"] == name) & (main["conditionnel"] == conditional)]["valeur"]
        return "" if value.empty else f"{value.iloc[0]:.4g}"

    items = [
        ("modele", "nom", result.chosen), ("modele", MAIN_TEST_KEY, result.main_test), ("modele", "version_code", __version__),
        ("modele", "fichier", str(result.model_path)), ("modele", MODEL_SHA_KEY, result.model_sha256),
        ("donnees", "table_sha256", result.table_sha256),
        ("donnees", AS_OF_KEY, "" if result.as_of is None else result.as_of.date().isoformat()),
        ("donnees", "blocs", ", ".join(blocs)),
        ("donnees", "scrutins", ", ".join(sorted(runs[0].tables[None]["scrutin_id"].unique()))),
        ("donnees", "indicateurs", "oui" if has_indicators(runs[0].tables[None]) else "non (historique électoral seul)"),
        ("regle", "choix_retenu", RULE),
        *(("selection", f"{row.modele}_{row.scrutin_validation}", f"{row.mae_moyenne:.4f}") for row in result.selection.itertuples()),
        *((f"performance_{result.main_test}", f"{m}_{k}_{'cond' if c else 'non_cond'}", metric(m, k, c)) for m in (RETAINED, "swing_uniforme", "persistance")
          for k, c in (("mae", True), ("mae", False), ("acc_tete", True), ("couv80", True), ("couv95", True))),
        ("limites", "horizons", "aucun cas à 1 an (pas de paire de scrutins modélisés à un an d'écart) ; 2, 3 et 5 ans mesurés"),
        ("limites", "legislatives", "variables seulement : l'offre varie d'une circonscription à l'autre"),
        *(("notes", f"note_{i}", note) for i, note in enumerate(result.notes, 1)),
    ]
    frame = pd.DataFrame(items, columns=["section", "cle", "valeur"])
    frame.insert(0, "ordre", range(1, len(frame) + 1))
    frame.insert(0, "territoire", result.territoire)
    return frame


# ─── Entry point ─────────────────────────────────────────────────────────────────────────

def national_ballots(data: ElectionData) -> frozenset[str]:
    """Ballots with results in more than one département (the ones a France-wide test can use)."""
    spread = data.results.groupby("scrutin_id")["code_departement"].nunique()
    return frozenset(spread[spread > 1].index)


def build_chains(warehouse: Path, france: Path | None, say: Progress, as_of: pd.Timestamp | None = None) -> tuple[list[Chain], list[str]]:
    """The territory chain and, with a France warehouse, the France-trained européennes 2019, both as known on ``as_of``."""
    notes = []
    data = load_election_data(warehouse, as_of=as_of)
    if data.indicators is None:
        notes.append("Indicateurs locaux absents de l'entrepôt (vue v_indicateur_commune) : variables issues de l'historique électoral seulement.")
    territory = data.territoire
    if territory == "FR":
        return [Chain(data, ("FR", config.DEFAULT_DEPARTEMENT), national_ballots(data), False, "France")], notes
    chains = [Chain(data, (territory,), None, True, territory)]
    if france is None:
        notes.append(f"Pas d'entrepôt France (--entrepot-france) : européennes 2019 entraînées et testées sur le seul territoire {territory}.")
        return chains, notes
    say("Lecture de l'entrepôt France")
    fr = load_election_data(france, "FR", as_of=as_of)
    report = frozenset({FRANCE_TEST}) & national_ballots(fr)
    if report:
        chains.append(Chain(fr, ("FR", territory), report, False, "France"))
    else:
        notes.append(f"L'entrepôt France n'a pas de résultats nationaux pour {FRANCE_TEST} : test France ignoré.")
    return chains, notes


def stage_frames(runs: Sequence[ChainRun], chosen: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``model_evaluation`` and ``model_prediction_backtest`` rows of every chain, with ``retenu``.

    A (ballot, territory, horizon) case reported by a later chain (France-trained européennes
    2019) replaces the same case of the territory chain.
    """
    covered = {(p.scrutin_test, t, p.horizon_ans) for run in runs[1:] for p, t in reported(run, set())}
    scopes = [covered if i == 0 else set() for i in range(len(runs))]
    pairs = [(run, reported(run, scope)) for run, scope in zip(runs, scopes, strict=True)]
    evaluation = pd.concat([evaluation_frame(found, run.chain.data.blocs) for run, found in pairs]
                           + [territory_frame(run, scope) for run, scope in zip(runs, scopes, strict=True)], ignore_index=True)
    predictions = pd.concat([prediction_frame(found, run.chain.data.blocs) for run, found in pairs], ignore_index=True)
    return with_retained(evaluation, chosen), with_retained(predictions, chosen)


def run_evaluation(warehouse: Path | None = None, france: Path | None = None, fast: bool = False,
                   progress: Progress | None = None, write: bool = True, as_of: date | None = None,
                   replays: Callable[[str], pd.DataFrame] | None = None) -> EvaluationResult:
    """Run the whole stage as known on ``as_of`` (default: today) and (if ``write``) store its tables in the warehouse.

    ``replays`` (given by the caller: the replays belong to the forecast stage, which this module
    never imports) maps the retained learner's name to the replays' ``model_evaluation`` rows
    (``date_reference`` set); they are stored with the backtests and shown in the model card.

    The model tables hold one evaluation per warehouse file: a run replaces all their rows (its
    territory and, with a France warehouse, the FR rows) in one transaction.
    """
    from electio.warehouse.store import file_identity, replace_stage_tables

    say = progress or (lambda _message: None)
    warehouse = warehouse or config.warehouse_path()
    timings: dict[str, float] = {}
    start = time.perf_counter()
    read_from = file_identity(warehouse) if warehouse.is_file() else None
    as_of = pd.Timestamp(as_of or date.today())
    chains, notes = build_chains(warehouse, france, say, as_of)
    runs = []
    for chain in chains:
        t0 = time.perf_counter()
        runs.append(run_chain(chain, all_methods(chain.data.blocs, LEARNER_NAMES, fast), say))
        timings[f"backtests_{chain.label}"] = time.perf_counter() - t0
    chosen, selection = select_model(runs[0], LEARNER_NAMES)
    say("Métriques")
    evaluation, predictions = stage_frames(runs, chosen)
    say("Importance des variables")
    t0 = time.perf_counter()
    importance = with_retained(importance_frame(runs[0], chosen, fast), chosen)
    timings["importance"] = time.perf_counter() - t0
    say("Modèle retenu : entraînement final et sauvegarde")
    model_path = models_dir() / f"{RETAINED}_{runs[0].chain.territories[0]}.joblib"
    with staged_file(model_path) as staging:  # renamed into place once the tables recording its sha256 are written
        digest, model_sha = save_model(runs[0], chosen, fast, staging, as_of)
        result = EvaluationResult(runs[0].chain.territories[0], chosen, selection, evaluation, importance, predictions,
                                  pd.DataFrame(), horizon_summary(evaluation, predictions), notes, model_path, digest, timings,
                                  model_sha256=model_sha, as_of=as_of, main_test=main_test(runs[0]))
        result.card = card_frame(result, runs[0].chain.data.blocs, runs)
        if replays is not None:
            t0 = time.perf_counter()
            result.replays = replays(chosen)
            timings["rejeux"] = time.perf_counter() - t0
        if write:
            say("Écriture dans l'entrepôt")
            stored = pd.concat([evaluation.assign(date_reference=None), result.replays], ignore_index=True) if not result.replays.empty \
                else evaluation.assign(date_reference=None)
            tables = {"model_evaluation": stored, "model_importance": importance, "model_prediction_backtest": predictions, "model_card": result.card}
            result.stored = replace_stage_tables(warehouse, "models.sql", tables, {}, read_from=read_from)
    timings["total"] = time.perf_counter() - start
    return result


# ─── Summaries for the command line (French labels) ──────────────────────────────────────

MODEL_LABELS = {
    "persistance": "persistance", "swing_uniforme": "swing uniforme", "swing_proportionnel": "swing proportionnel",
    "ridge_logratio": "ridge log-ratio", "mixte_communes": "mixte (effets communes)", "foret_aleatoire": "forêt aléatoire",
    "lightgbm": "LightGBM", RETAINED: "RETENU", TERRITORY_MODEL: "modèle de total départemental",
    NOISE_FLOOR: "plancher de bruit (référence)", BASE_RATE: "fréquence de tête sans fuite (référence)",
}
GOALS = {"gain_mae": 0.35, "acc_tete": 0.95, "couv80": (0.78, 0.82)}


def _means(evaluation: pd.DataFrame, scrutin: str, territory: str, horizon: int | None = None) -> pd.DataFrame:
    """Mean-over-blocs metrics of one ballot and territory: rows (model, conditional), one column per metric."""
    rows = evaluation[(evaluation["scrutin_test"] == scrutin) & (evaluation["territoire"] == territory) & (evaluation["bloc"] == MEAN)]
    if horizon is None and not rows.empty:
        horizon = int(rows["horizon_ans"].min())
    rows = rows[rows["horizon_ans"] == horizon]
    return rows.pivot_table(index=["modele", "conditionnel"], columns="metrique", values="valeur")


def main_table(evaluation: pd.DataFrame, scrutin: str, territory: str) -> pd.DataFrame:
    """Per model: conditional and unconditional mean MAE, gain over uniform swing, lead accuracy, coverage."""
    means = _means(evaluation, scrutin, territory)
    if means.empty:
        return pd.DataFrame()
    cond = means.xs(True, level="conditionnel") if True in means.index.get_level_values(1) else pd.DataFrame()
    uncond = means.xs(False, level="conditionnel")
    reference = cond.loc["swing_uniforme", "mae"]
    table = pd.DataFrame({
        "mae_cond": cond["mae"], "gain_vs_swing_uniforme": 1 - cond["mae"] / reference, "mae_non_cond": uncond["mae"].reindex(cond.index),
        "acc_tete": cond["acc_tete"], "bacc_tete": cond["bacc_tete"], "brier": cond.get("brier"),
        "couv80": cond.get("couv80"), "couv95": cond.get("couv95"),
    })
    order = [m for m in MODEL_LABELS if m in table.index]
    return table.loc[order]


def tests_overview(evaluation: pd.DataFrame, test: str = MAIN_TEST) -> pd.DataFrame:
    """Conditional and unconditional mean MAE of every model on every reported ballot and territory (natural horizon)."""
    natural = evaluation.groupby(["scrutin_test", "territoire"])["horizon_ans"].transform("min")
    rows = evaluation[(evaluation["horizon_ans"] == natural) & (evaluation["bloc"] == MEAN) & (evaluation["metrique"] == "mae")]
    table = rows.pivot_table(index="modele", columns=["scrutin_test", "territoire", "horizon_ans", "conditionnel"], values="valeur")
    order = sorted(table.columns, key=lambda c: (c[0] != test, c[0], c[1] != "FR", c[1], -int(c[3])))
    return table.loc[[m for m in MODEL_LABELS if m in table.index], order]


def goals_status(evaluation: pd.DataFrame, territory: str, test: str = MAIN_TEST) -> list[tuple[str, float, bool]]:
    """(goal, measured value, reached) for the retained model on the main test ballot ``test``."""
    table = main_table(evaluation, test, territory)
    if table.empty or RETAINED not in table.index:
        return []
    row = table.loc[RETAINED]
    low, high = GOALS["couv80"]
    couv80 = row["couv80"]
    return [
        ("MAE moyenne ≥ 35 % sous le swing uniforme (conditionnel)", row["gain_vs_swing_uniforme"], row["gain_vs_swing_uniforme"] >= GOALS["gain_mae"]),
        ("bloc en tête exact ≥ 95 % des communes", row["acc_tete"], row["acc_tete"] >= GOALS["acc_tete"]),
        ("intervalles 80 % : couverture entre 78 % et 82 %", couv80, bool(not pd.isna(couv80) and low <= couv80 <= high)),
        *((goal, value, ok) for goal, value, ok in main_goals(evaluation, territory, test)),
    ]


def main_goals(evaluation: pd.DataFrame, territory: str, test: str = MAIN_TEST) -> list[tuple[str, float, bool]]:
    """Goals of :mod:`.goals` on the main test ballot ``test``, conditional, for the territory."""
    table = goal_table(evaluation, RETAINED, BASE_RATE, test)
    rows = table[(table["scrutin_test"] == test) & (table["territoire"] == territory) & table["conditionnel"]]
    return [(f"{r.objectif} — {r.detail}", r.valeur, r.atteint) for r in rows.itertuples()]


# ─── Model card (Markdown) ───────────────────────────────────────────────────────────────

def markdown_table(frame: pd.DataFrame, digits: int = 2) -> str:
    """A small Markdown table (index as first column)."""
    def fmt(value: object) -> str:
        if isinstance(value, float):
            return "—" if np.isnan(value) else f"{value:.{digits}f}"
        return str(value)

    header = [str(frame.index.name or ""), *map(str, frame.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join([fmt(i), *(fmt(v) for v in row)]) + " |" for i, row in zip(frame.index, frame.to_numpy(), strict=True)]
    return "\n".join(lines)


def replay_section(replays: pd.DataFrame) -> list[str]:
    """Model-card paragraphs of the replays: table by ballot and as-of date, then the goals of issue 14."""
    if replays.empty:
        return ["## Replays of the whole forecast at past dates", "- not run (`electio evaluate --sans-rejeux`, or no replayable ballot)"]
    goals = replay_goal_table(replays, REPLAY_RETAINED, REPLAY_NOISE_FLOOR)
    lines = [f"- {'met' if row.atteint else 'MISSED'}: {row.scrutin_test} as of {row.date_reference} — {row.objectif}: measured "
             f"{row.valeur:.3g}" + ("" if row.plancher_bruit != row.plancher_bruit else f" (noise floor {row.plancher_bruit:.2f} points)")
             for row in goals.itertuples()]
    return [
        "## Replays of the whole forecast at past dates (unconditional, scored on the real ballots)",
        "Each replay loads the warehouse as of the date (`load_election_data(as_of=…)`), trains the learner type retained today on "
        "the cut data, calibrates its intervals on conditional backtests within the cut data, forecasts the real calendar ballot "
        "with the territory totals known then, and is scored on the real commune results. `horizon_ans`: whole years before the "
        "vote (0: one month). MAE in points (mean over blocs); acc_tete: share of communes whose leading bloc is right; "
        "brier_blocs: Brier of P(lead) over commune × bloc; couv80 / couv95: interval coverage. `total_precedent_rejoue`: same local "
        "model with the previous territory model (comparable ballot's totals); `persistance_rejoue`: the comparable ballot's shares; "
        "`plancher_bruit_rejoue`: binomial noise floor.",
        markdown_table(replay_table(replays, [REPLAY_RETAINED, REPLAY_PREVIOUS, REPLAY_PERSISTENCE, REPLAY_NOISE_FLOOR]), 3),
        "### Goals of the replays (issue 14, Rhône)",
        "\n".join(lines),
    ]


def model_card_markdown(result: EvaluationResult) -> str:
    """The model card, generated from the measured figures."""
    territory = result.territoire
    main = main_table(result.evaluation, result.main_test, territory)
    overview = tests_overview(result.evaluation, result.main_test)
    overview.columns = [f"{s} {t} h{h} {'cond' if c else 'uncond'}" for s, t, h, c in overview.columns]
    top = result.importance[(result.importance["modele"] == RETAINED) & (result.importance["bloc"] == MEAN) & (result.importance["rang"] <= 10)]
    goals = "\n".join(f"- {'reached' if ok else 'NOT reached'}: {goal} — measured {value:.1%}" for goal, value, ok in goals_status(result.evaluation, territory, result.main_test))
    selection = result.selection.pivot_table(index="modele", columns="scrutin_validation", values="mae_moyenne") if not result.selection.empty else pd.DataFrame()
    horizons = result.horizons.set_index("horizon_ans")
    territory_rows = result.evaluation[(result.evaluation["modele"] == TERRITORY_MODEL) & (result.evaluation["bloc"] == MEAN)]
    parts = [
        f"# Model card — Electio commune-level bloc forecasts ({territory})",
        "Generated by `electio evaluate` from the measured backtests; do not edit by hand.",
        "## Model",
        f"- Retained model: **{result.chosen}** (saved to `{result.model_path.name}` under `data/models/`, "
        f"training-table sha256 `{result.table_sha256}`).",
        "- Task: forecast, for every commune, each political bloc's share of exprimés and the abstention rate of a "
        "future first round (présidentielle or européennes), one to five years ahead.",
        "- Forecast = territory scenario (département bloc totals) + local part (each commune's log-ratio deviation from "
        "its département, predicted by the model, then raked so the département total matches the scenario exactly).",
        "- Learners: one pooled regressor over commune × output rows (ridge on log-ratio deviations, random forest, "
        "LightGBM, ridge + shrunk commune random effects); baselines: persistence, uniform and proportional swing.",
        "- Learners are weighted by the inverse of each row's expected variance (binomial sampling at the commune's exprimés "
        "at both ballots + a structural term), and see the sampling variance of their reference deviation.",
        "- Intervals: split conformal prediction calibrated on the same model's errors on earlier ballots only, scale "
        "sqrt(a·v/n + κ·v²) with v = p(1 − p), a and κ fitted on those errors, quantiles per bloc and size class; "
        "leading-bloc probabilities simulated from those errors.",
        "- A bloc without a candidate in a commune (législatives) is a missing value of that ballot's features, not a lean.",
        "## Selection rule (fixed in advance)",
        RULE,
        "" if selection.empty else markdown_table(selection, 3),
        "## Results — présidentielle 2022 T1 (main test; conditional = true département totals given)",
        "" if main.empty else markdown_table(main, 3),
        "### Goals",
        goals or "- main test ballot not available",
        "## All test ballots (mean bloc MAE, points, natural horizon)",
        markdown_table(overview, 2),
        "## Horizons (retained model, conditional mean MAE)",
        markdown_table(horizons, 2),
        "## Honest references (natural horizon)",
        "Mean bloc MAE (points, every commune counts the same), MAE weighted by exprimés (every voter counts the same) and "
        "Brier score of P(lead) over every commune × bloc that stood. `plancher_bruit`: the binomial sampling noise at each "
        "commune's exprimés, which no model can beat on average; `frequence_tete`: leak-free base rate of P(lead) (each bloc's "
        "lead frequency at the comparable earlier ballot).",
        markdown_table(references_table(result.evaluation, [RETAINED, "persistance", "swing_proportionnel", "swing_uniforme", NOISE_FLOOR, BASE_RATE]), 3),
        "## Coverage of the 80 % intervals (retained model, natural horizon)",
        "Per bloc, with a 90 % cluster-bootstrap interval over communes; `couv80_joint_moyenne`: share of communes whose blocs "
        "are all inside together; `couv80_pond_*`: weighted by exprimés. A bloc that did not stand is not scored.",
        markdown_table(coverage_table(result.evaluation, RETAINED)),
        "## By commune size (exprimés at the comparable ballot; conditional)",
        markdown_table(size_table(result.evaluation, RETAINED, NOISE_FLOOR, SIZE_LABELS), 3),
        "## Goals of the local model and its uncertainty (retained model, natural horizon)",
        markdown_table(goal_table(result.evaluation, RETAINED, BASE_RATE, result.main_test).set_index("scrutin_test"), 3),
        "## En clair (texte pour les non-spécialistes)",
        *(f"**{title}** {text}" for title, text in PLAIN_FRENCH.values()),
        "## Territory model error (mean over blocs of |forecast − true| département share, points)",
        markdown_table(territory_rows.set_index("scrutin_test")[["territoire", "horizon_ans", "valeur"]], 2),
        "## Most important variables (permutation, rise of mean bloc MAE in points, main test ballot)",
        markdown_table(top.set_index("variable")[["famille", "importance", "ecart_type"]], 3),
        *replay_section(result.replays),
        "## Limitations",
        "- Few ballots: the model learns how relative positions persist between a handful of ballot pairs; each new "
        "pair has its own shifts (new parties, realignments), which no past pair fully teaches.",
        "- Législatives are used as features only (the offer differs between circonscriptions).",
        "- No horizon of exactly one year exists among the modelled ballots; 2-, 3- and 5-year cases are measured.",
        "- Unconditional accuracy is dominated by the territory scenario; use the conditional figures to judge the "
        "local model and supply scenario totals (e.g. polls) for real forecasts.",
        *(f"- {note}" for note in result.notes),
    ]
    return "\n\n".join(p for p in parts if p) + "\n"
