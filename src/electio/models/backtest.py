"""Forward-chaining backtests, with the forecast split into a territory part and a local part.

For each test ballot, every model is trained only on the rows of ballots held before the test
row's information date (the ballot's date, or at a longer horizon the day after the newest ballot
old enough; their own features only use ballots before them), then predicts the test ballot's communes twice:

* conditional (``conditionnel = True``): given the true département totals of the test
  ballot — this measures the local model alone (each commune's deviation);
* unconditional: given the territory model's forecast of those totals — the full forecast.

Territory model (documented, deliberately simple): each bloc's département share is its share at
the last ballot of the same type (the comparable ballot); a bloc that did not stand there takes its
share at the last ballot of any type, else its latest earlier share; blocs not standing in the
target ballot (official candidate lists are known before the vote) get 0; the result is closed.
Abstention, which depends on the ballot type: the last same-type ballot's rate. Ballots of
different types are never averaged: a législatives total, where one union nuance carries several
parties, says little about a présidentielle (until 2026 the mean of the same-type and the last
ballots was used; it erred more than persistence once the 2022–2024 législatives were loaded).

A learner's deviations are turned into shares (territory total × exp(deviation), closed) and
then raked so that the exprimés-weighted total of each département equals the given total
exactly; weights are the exprimés at the comparable ballot (known before the vote).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from electio.features.modelling_table import ABSTENTION, outputs
from electio.models.baselines import BASELINES, Forecast, Totals, present_mask
from electio.models.compositional import close, expit, from_deviation, logit, rake, shift_to_mean
from electio.models.learners import PooledLearner, make_learner

Forecaster = Callable[[pd.DataFrame, Totals], Forecast]
Method = Callable[[pd.DataFrame], Forecaster]


@dataclass(frozen=True)
class Prediction:
    """One model's forecast of one test ballot: arrays are n communes × (blocs…, abstention)."""

    modele: str
    scrutin_test: str
    horizon_ans: int
    conditionnel: bool
    date: pd.Timestamp
    rows: pd.DataFrame  # code_commune, code_departement, inscrits, exprimes, taille_exprimes, taille_inscrits
    observed: np.ndarray
    predicted: np.ndarray
    present: np.ndarray
    lower80: np.ndarray | None = None
    upper80: np.ndarray | None = None
    lower95: np.ndarray | None = None
    upper95: np.ndarray | None = None
    lead_proba: np.ndarray | None = None
    lead_base: np.ndarray | None = None  # leak-free base rate of P(lead): see :func:`lead_base_rate`
    known_on: pd.Timestamp | None = None  # information date: only ballots strictly before it were used

    @property
    def information_date(self) -> pd.Timestamp:
        """The date as of which the prediction was made (the ballot's date when not recorded)."""
        return self.date if self.known_on is None else self.known_on

    def subset(self, mask: np.ndarray) -> Prediction:
        """The same prediction restricted to some communes."""
        arrays = {name: (None if value is None else value[mask]) for name, value in self.__dict__.items() if isinstance(value, np.ndarray)}
        return Prediction(**{**self.__dict__, **arrays, "rows": self.rows[mask].reset_index(drop=True)})


# ─── Territory part ──────────────────────────────────────────────────────────────────────

def _per_row(values: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    return values.reindex(rows["code_departement"]).to_numpy(float)


def territory_truth(rows: pd.DataFrame, blocs: Sequence[str]) -> Totals:
    """True département totals of the test ballot (exprimés- and inscrits-weighted)."""
    shares = rows[[f"y_part_{b}" for b in blocs]].mul(rows["exprimes"], axis=0)
    grouped = shares.groupby(rows["code_departement"]).sum().div(rows.groupby("code_departement")["exprimes"].sum(), axis=0)
    abst = (rows[f"y_part_{ABSTENTION}"] * rows["inscrits"]).groupby(rows["code_departement"]).sum() / rows.groupby("code_departement")["inscrits"].sum()
    return Totals(_per_row(grouped, rows), _per_row(abst.to_frame(), rows)[:, 0])


def _stood(rows: pd.DataFrame, prefix: str, blocs: Sequence[str]) -> np.ndarray:
    """Département shares of ``prefix`` columns, NaN where the bloc did not stand (share 0)."""
    values = np.nan_to_num(rows[[f"{prefix}_{b}" for b in blocs]].to_numpy(float))
    return np.where(values > 0, values, np.nan)


def territory_forecast(rows: pd.DataFrame, blocs: Sequence[str]) -> Totals:
    """The territory model: the comparable (same-type) ballot's totals, completed and closed (see module doc)."""
    same, last = _stood(rows, "aux_T_ref", blocs), _stood(rows, "aux_T_der", blocs)
    previous = np.nan_to_num(rows[[f"aux_Tprev_{b}" for b in blocs]].to_numpy(float))
    shares = close(np.where(np.isnan(same), np.where(np.isnan(last), previous, last), same), present_mask(rows, blocs))
    return Totals(shares, rows[f"aux_T_ref_{ABSTENTION}"].to_numpy(float))


def territory_errors(rows: pd.DataFrame, blocs: Sequence[str]) -> pd.DataFrame:
    """Per département: forecast − true total, per bloc and abstention (fractions)."""
    truth, forecast = territory_truth(rows, blocs), territory_forecast(rows, blocs)
    first = ~rows["code_departement"].duplicated().to_numpy()
    error = np.column_stack([forecast.shares - truth.shares, forecast.abstention - truth.abstention])[first]
    return pd.DataFrame(error, columns=[*blocs, "abstention"], index=rows["code_departement"].to_numpy()[first])


# ─── Local part ──────────────────────────────────────────────────────────────────────────

def reconcile(deviation: np.ndarray, abstention_deviation: np.ndarray, rows: pd.DataFrame, blocs: Sequence[str], totals: Totals) -> Forecast:
    """Shares from clr deviations, raked per département to ``totals``; abstention shifted likewise."""
    present = present_mask(rows, blocs)
    shares = from_deviation(deviation, totals.shares, present)
    rates = expit(logit(totals.abstention) + np.nan_to_num(abstention_deviation))
    weights = rows["aux_exprimes_ref"].fillna(rows["exprimes"].median()).to_numpy(float)
    inscrits = rows["aux_inscrits_ref"].fillna(rows["inscrits"].median()).to_numpy(float)
    for _, index in rows.groupby("code_departement").indices.items():
        shares[index] = rake(shares[index], weights[index], totals.shares[index[0]])
        rates[index] = shift_to_mean(rates[index], inscrits[index], float(totals.abstention[index[0]]))
    return Forecast(shares, rates)


def learner_forecaster(learner: PooledLearner) -> Forecaster:
    """Turn a fitted learner into a forecaster of shares given territory totals."""
    names = outputs(learner.blocs)

    def forecast(rows: pd.DataFrame, totals: Totals) -> Forecast:
        deviation = rows[[f"ref_z_{o}" for o in names]].to_numpy(float) + learner.predict(rows)
        return reconcile(deviation[:, :-1], deviation[:, -1], rows, learner.blocs, totals)

    return forecast


def learner_method(name: str, blocs: Sequence[str], fast: bool = False) -> Method:
    """A method that fits learner ``name`` on the training rows."""
    return lambda train: learner_forecaster(make_learner(name, blocs, fast).fit(train))


def baseline_method(name: str, blocs: Sequence[str]) -> Method:
    """A baseline as a method (it ignores the training rows)."""
    return lambda _train: (lambda rows, totals: BASELINES[name](rows, blocs, totals))


def all_methods(blocs: Sequence[str], learners: Sequence[str], fast: bool = False) -> dict[str, Method]:
    """Baselines then learners, by name."""
    methods = {name: baseline_method(name, blocs) for name in BASELINES}
    methods.update({name: learner_method(name, blocs, fast) for name in learners})
    return methods


# ─── Backtest loop ───────────────────────────────────────────────────────────────────────

def observed(rows: pd.DataFrame, blocs: Sequence[str]) -> np.ndarray:
    """Observed shares then abstention (n × (k + 1))."""
    return rows[[f"y_part_{o}" for o in outputs(blocs)]].to_numpy(float)


def lead_base_rate(rows: pd.DataFrame, blocs: Sequence[str]) -> np.ndarray:
    """Leak-free reference for P(lead) (n × blocs): each bloc's share of the département's communes it led
    at the comparable ballot (known before the vote), renormalised over the blocs standing in the target
    ballot (uniform over them when none of them led anywhere)."""
    before = rows[[f"aux_part_ref_{b}" for b in blocs]].to_numpy(float)
    known = ~np.isnan(before).all(axis=1)
    led = np.zeros_like(before)
    led[known, np.nanargmax(np.where(known[:, None], np.nan_to_num(before, nan=-1.0), 0.0), axis=1)[known]] = 1.0
    frequency = pd.DataFrame(led[known], index=rows["code_departement"].to_numpy()[known]).groupby(level=0).mean()
    rates = frequency.reindex(rows["code_departement"].to_numpy()).fillna(0.0).to_numpy(float)
    present = present_mask(rows, blocs)
    rates = np.where(present, rates, 0.0)
    total = rates.sum(axis=1, keepdims=True)
    uniform = present / np.maximum(present.sum(axis=1, keepdims=True), 1)
    return np.where(total > 0, rates / np.where(total > 0, total, 1.0), uniform)


def prediction_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Identifying and weighting columns kept with a prediction."""
    keep = rows[["code_commune", "code_departement", "inscrits", "exprimes"]].reset_index(drop=True)
    keep["taille_exprimes"] = rows["aux_exprimes_ref"].fillna(rows["exprimes"]).to_numpy(float)
    keep["taille_inscrits"] = rows["aux_inscrits_ref"].fillna(rows["inscrits"]).to_numpy(float)
    return keep


def test_ballots(table: pd.DataFrame) -> list[str]:
    """Ballots of the table with at least one ballot to train on (held before their information date), in date order."""
    dates = table.groupby("scrutin_id")["date_scrutin"].first().sort_values()
    known_on = table.groupby("scrutin_id")["date_information"].first() if "date_information" in table else dates
    return [sid for sid in dates.index if (dates < known_on[sid]).any()]


def backtest_ballot(table: pd.DataFrame, blocs: Sequence[str], methods: dict[str, Method], test: str) -> list[Prediction]:
    """Train every method on ballots before ``test`` and predict it, conditionally and not."""
    rows = table[table["scrutin_id"] == test].reset_index(drop=True)
    date = rows["date_scrutin"].iloc[0]
    known_on = pd.Timestamp(rows["date_information"].iloc[0]) if "date_information" in rows else date
    train = table[table["date_scrutin"] < known_on]  # at a longer horizon, only ballots known on its information date
    scenarios = {True: territory_truth(rows, blocs), False: territory_forecast(rows, blocs)}
    truth = observed(rows, blocs)
    present = np.column_stack([present_mask(rows, blocs), np.ones(len(rows), bool)])
    kept, horizon = prediction_rows(rows), int(rows["horizon_ans"].iloc[0])
    base = lead_base_rate(rows, blocs)
    out = []
    for name, method in methods.items():
        forecaster = method(train)
        for conditional, totals in scenarios.items():
            forecast = forecaster(rows, totals)
            predicted = np.column_stack([forecast.shares, forecast.abstention])
            out.append(Prediction(name, test, horizon, conditional, date, kept, truth, predicted, present, lead_base=base, known_on=known_on))
    return out


def backtest(table: pd.DataFrame, blocs: Sequence[str], methods: dict[str, Method], tests: Sequence[str] | None = None) -> list[Prediction]:
    """Forward-chaining backtest over ``tests`` (default: every ballot with an earlier one)."""
    chosen = test_ballots(table) if tests is None else [t for t in test_ballots(table) if t in set(tests)]
    return [p for test in chosen for p in backtest_ballot(table, blocs, methods, test)]
