"""What-if scenarios for the dashboard, computed with the forecast stage's own engine (:mod:`electio.forecasts`).

What does not depend on the sliders is prepared once per warehouse and target and kept in memory:
the retained model and election data (``stage.read_inputs``), each target's modelling rows and
projected indicators, its territory forecast, calibration and random normals (the stage's seeds).
A slider change then only runs the engine's ``simulate`` (:mod:`electio.forecasts.engine`):

* settings equal to a stored scenario (``tendance`` or one of ``dim_scenario``) are read from
  ``fact_prevision`` as written by ``electio forecast`` (2 000 draws);
* other settings: the territory rows use all the stage's draws (so its totals are exactly the
  stage's for those settings); the communes use the first :data:`INTERACTIVE_DRAWS` of them,
  which keeps an answer under a second (their figures may differ by a few tenths of a point).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import pandas as pd

from electio.dashboard import data
from electio.errors import ElectioError

INTERACTIVE_DRAWS = 300
Settings = tuple[tuple[str, float], ...]  # sorted (name, value) pairs without zeros: hashable for the caches


@dataclass(frozen=True)
class Context:
    """One forecast target, everything the sliders do not change."""

    rows: pd.DataFrame
    projected: pd.DataFrame
    setup: object  # electio.forecasts.engine.TargetSetup (totals, variance, calibration, the stage's random numbers)
    horizon: int


@dataclass(frozen=True)
class Engine:
    """The forecast inputs of one warehouse and its targets' contexts (by ``scrutin_cible``)."""

    inputs: object  # electio.forecasts.stage.Inputs
    contexts: Mapping[str, Context]
    indicators: tuple[str, ...]


def settings(values: Mapping[str, float | None]) -> Settings:
    """Canonical, hashable form of slider values (zeros and empty values dropped)."""
    return tuple(sorted((name, round(float(value), 2)) for name, value in values.items() if value))


def model_file(path: Path) -> Path | None:
    """The retained model's file recorded in ``model_card`` (None when unknown or moved)."""
    if not data.has(path, "model_card"):
        return None
    rows = data.query(path, "SELECT valeur FROM model_card WHERE section = 'modele' AND cle = 'fichier'")
    found = Path(str(rows["valeur"].iloc[0])) if len(rows) else None
    return found if found and found.is_file() else None


def _context(inputs: object, target: object, predictions: list) -> Context:
    """Prepare one target exactly as ``electio forecast`` does (:func:`electio.forecasts.engine.target_setup`)."""
    from electio.forecasts import engine as forecast_engine
    from electio.forecasts.uncertainty import horizon_calibration

    calibration, _ = horizon_calibration(predictions, target.horizon_ans)
    rows, projected, setup, _totals = forecast_engine.target_setup(inputs.data, target, calibration, percent=inputs.percent)  # the CLI's default hypothesis
    return Context(rows, projected, setup, target.horizon_ans)


@lru_cache(maxsize=4)
def engine(path: Path) -> Engine | None:
    """The scenario engine of a warehouse (None without forecasts or without the retained model)."""
    if data.forecasts(path).empty:
        return None
    from electio.forecasts import stage
    from electio.forecasts.targets import stored_targets
    from electio.forecasts.trajectories import indicator_features
    from electio.forecasts.uncertainty import backtest_predictions

    described = data.stored_targets(path)
    as_of = pd.Timestamp(described["date_reference"].iloc[0]) if len(described) else None
    try:
        inputs = stage.read_inputs(path, model_file(path), as_of)
    except (ElectioError, OSError, ValueError, KeyError):
        return None
    election = inputs.data
    dates = election.ballots.set_index("scrutin_id")["date_scrutin"]
    predictions = [p for p in backtest_predictions(inputs.backtests, election.blocs, election.territoire, dates) if p.conditionnel]
    contexts = {t.scrutin_cible: _context(inputs, t, predictions) for t in stored_targets(described)}
    if not contexts:
        return None
    first = next(iter(contexts.values()))
    return Engine(inputs, contexts, tuple(indicator_features(first.rows)))


@lru_cache(maxsize=8)
def stored_scenarios(path: Path) -> dict[tuple[Settings, Settings], str]:
    """Stored scenarios by their (swings, indicator shifts) settings."""
    found: dict[tuple[Settings, Settings], str] = {}
    for name, text in zip(data.scenarios(path)["scenario"], data.scenarios(path).get("parametres", []), strict=False):
        parameters = json.loads(text or "{}")
        found.setdefault((settings(parameters.get("swing_points", {})), settings(parameters.get("indicateurs", {}))), str(name))
    found.setdefault(((), ()), data.TENDANCE)
    return found


def territory_rows(found: Engine, context: Context, scenario: object) -> pd.DataFrame:
    """The territory's rows for a scenario, from all the stage's territory draws."""
    from electio.forecasts import scenarios as sc
    from electio.forecasts.simulate import summarise, summary_frame
    from electio.forecasts.uncertainty import territory_draws
    from electio.models.baselines import present_mask

    blocs, setup = found.inputs.data.blocs, context.setup
    present = present_mask(context.rows, blocs)[:1]
    drawn, rates = territory_draws(setup.center.shares[0], float(setup.center.abstention[0]), setup.variance, 1.0, setup.normals)
    drawn, rates = sc.apply_swings(drawn, rates, blocs, scenario.swing)
    return summary_frame([found.inputs.data.territoire], blocs, summarise(drawn[:, None, :], rates[:, None], present), present)


@lru_cache(maxsize=128)
def simulate(path: Path, key: str, swing: Settings, shifts: Settings) -> tuple[pd.DataFrame, str]:
    """Forecast rows (``fact_prevision`` columns) of a target under slider settings, and the stored scenario used ('' if computed)."""
    stored = stored_scenarios(path).get((swing, shifts))
    if stored and not data.forecast_slice(path, key, stored).empty:
        return data.forecast_slice(path, key, stored), stored
    found = engine(path)
    if found is None:
        raise ElectioError("moteur de scénarios indisponible : lancez « electio evaluate » puis « electio forecast »")
    from electio.forecasts import engine as forecast_engine
    from electio.forecasts import scenarios as sc
    from electio.forecasts.trajectories import with_indicators

    _, target = data.parse_target(key)
    context = found.contexts[target]
    scenario = sc.Scenario(sc.CUSTOM, "Scénario du tableau de bord", "", dict(swing), dict(shifts))
    rows = with_indicators(context.rows, context.projected, scenario.indicateurs)
    territory = found.inputs.data.territoire
    quick = replace(context.setup, normals=context.setup.normals[:INTERACTIVE_DRAWS])
    communes = forecast_engine.simulate(rows, found.inputs.learner, scenario, quick, forecast_engine.THRESHOLD, territory)
    frame = pd.concat([communes[communes["code_commune"] != territory], territory_rows(found, context, scenario)], ignore_index=True)
    return frame[[c for c in data.FORECAST_COLUMNS if c in frame.columns]], ""


def warm(path: Path) -> None:
    """Prepare the engine and the stored scenarios (run in the background at start-up)."""
    engine(path)
    stored_scenarios(path)
