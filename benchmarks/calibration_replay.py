"""P(lead) Brier per replayed ballot against the leak-free base rate, and 80 % coverage of the replayed unconditional intervals.

Usage (after ``electio evaluate``): python benchmarks/calibration_replay.py data/warehouse/electio.duckdb
"""
import sys, duckdb, pandas as pd
from pathlib import Path
from electio.features.modelling_table import load_election_data
from electio.forecasts.uncertainty import backtest_predictions, brier_by_ballot, lead_outcomes, previous_lead_rates
from electio.forecasts.validation import replay_coverage, replay_outcomes
path = Path(sys.argv[1])
data = load_election_data(path)
with duckdb.connect(str(path), read_only=True) as con:
    bt = con.execute("SELECT * FROM model_prediction_backtest WHERE modele = 'retenu' AND territoire = ?", [data.territoire]).df()
preds = backtest_predictions(bt, data.blocs, data.territoire, data.ballots.set_index("scrutin_id")["date_scrutin"])
rates = previous_lead_rates(data, sorted(bt["scrutin_test"].unique()))
pd.set_option("display.width", 200)
print("backtest (lead probabilities of electio evaluate):")
print(brier_by_ballot(lead_outcomes(bt), rates).round(4).to_string(index=False))
print("replay (forecast simulation, territory uncertainty added; unconditional):")
print(brier_by_ballot(replay_outcomes(preds, data), rates).round(4).to_string(index=False))

cov = replay_coverage(preds, data)
print("replay 80 % coverage (unconditional):")
print(cov.pivot_table(index=["bloc", "classe_taille"], columns="scrutin_test", values="couverture").round(3).to_string())
