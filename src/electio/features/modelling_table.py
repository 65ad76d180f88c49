"""The modelling table: one row per commune × target ballot, with targets and leak-free features.

Targets: each bloc's share of exprimés (0 for a bloc that did not stand) and the abstention
rate (1 − votants / inscrits), plus their log-ratio deviations from the département.
Features use only what was known before the target ballot:

* the commune's results at the last ballot of the same type and at the last ballot of any
  type (shares, deviation from the département in points and in clr, abstention, age in years);
* its mean clr deviation over every earlier ballot (its structural lean);
* the ballot type and the time since the last known ballot;
* local indicators published before the information date (``date_publication < D``), when the
  warehouse has ``v_indicateur_commune``.

Only first rounds of présidentielles, législatives and européennes are used: second rounds
(two blocs) and the single municipales file are different contests. Targets are présidentielles
and européennes only (the same offer in every commune); législatives feed the features.
Rows are units of analysis (``load_election_data``: the commune, or its arrondissements municipaux).
Rule for estimated unit rows (a commune total split with a reference ballot's shares): never a
target (no row of the table), a feature only once the cut data hold them (``cut_to_date``: the
reference ballot is before the as-of date).
A bloc that did not stand in a ballot has no row in ``v_resultat_bloc_commune``: its share is
taken as 0, its deviation as undefined (NaN, left to the learners' imputation). A bloc without a
candidate in one commune only (législatives: each circonscription has its own offer) is a
missing value of that ballot's features in that commune — share, deviation and lean undefined,
not a strong negative lean — and its département share is computed over the communes where it
stood.
The ``horizon`` argument measures accuracy at longer horizons with the same code: each target's
row is then built as of the day after the newest ballot at least ``horizon`` years (rounded)
before it (``date_information``): the ballots, indicators, training rows and calibration ballots
it may use are all dated strictly before that day.

Column families: keys; ``y_*`` targets; ``present_*`` blocs standing in the target ballot
(official candidate lists, known before the vote); ``aux_*`` values of earlier ballots used by
the baselines and the territory model; ``ref_z_*`` reference deviations; ``f_*`` features.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from electio.features.election_data import (  # noqa: F401  (loading lives in election_data; re-exported for the stages)
    BALLOT_TYPES,
    KEYS,
    ElectionData,
    assemble,
    load_election_data,
    load_indicators,
)
from electio.models.compositional import clr_deviation, logit, smooth_shares

# Législatives are features only: each circonscription has its own offer, so a bloc may be
# absent from part of a département and the commune's deviation is not the same quantity.
TARGET_TYPES: tuple[str, ...] = ("presidentielle", "europeennes")
DAYS_PER_YEAR = 365.25
ABSTENTION = "abstention"
FEATURE_PREFIX = "f_"
Z_CLIP = 4.0
STRUCTURAL_VARIANCE = 0.04  # τ²: variance of a commune's log-ratio change not due to sampling (≈ 0.2²)
SHARE_CLIP = 0.005


# ─── Per-ballot profiles ─────────────────────────────────────────────────────────────────

def outputs(blocs: Sequence[str]) -> list[str]:
    """Modelled quantities: every bloc's share of exprimés, then the abstention rate."""
    return [*blocs, ABSTENTION]


def territory_shares(frame: pd.DataFrame, blocs: Sequence[str], level: str = "code_departement") -> pd.DataFrame:
    """Each territory's bloc shares of exprimés and abstention rate (``T_<output>`` columns)."""
    voix = [f"voix_{b}" for b in blocs]
    sums = frame.groupby(level)[[*voix, "exprimes", "votants", "inscrits"]].sum()
    out = sums[voix].div(sums["exprimes"], axis=0).fillna(0.0)
    out.columns = [f"T_{b}" for b in blocs]
    out[f"T_{ABSTENTION}"] = 1 - sums["votants"] / sums["inscrits"]
    return out


def local_territory_shares(voix: np.ndarray, exprimes: np.ndarray, present: np.ndarray, departements: np.ndarray) -> np.ndarray:
    """Each bloc's département share over the communes where it had a candidate (n × k, repeated per row)."""
    frame = pd.DataFrame(np.column_stack([np.where(present, voix, 0.0), np.where(present, exprimes[:, None], 0.0)]))
    sums = frame.groupby(departements).sum().to_numpy(float)
    k = voix.shape[1]
    shares = np.divide(sums[:, :k], sums[:, k:], out=np.zeros((len(sums), k)), where=sums[:, k:] > 0)
    index = pd.Index(pd.unique(pd.Series(departements))).sort_values()
    return shares[index.get_indexer(departements)]


def ballot_profile(data: ElectionData, scrutin_id: str) -> pd.DataFrame:
    """One ballot's commune rows (index code_commune): per output its value (``part_``), its
    deviation from the département in points (``ecart_``) and in log-ratio (``z_``: clr for
    blocs, logit difference for abstention) and the département value (``T_``)."""
    blocs = list(data.blocs)
    rows = data.results[data.results["scrutin_id"] == scrutin_id].set_index("code_commune")
    stood = data.ballots.set_index("scrutin_id").loc[scrutin_id, blocs].to_numpy(bool)
    raw = rows[[f"voix_{b}" for b in blocs]].to_numpy(float)
    present = stood[None, :] & ~np.isnan(raw)  # no candidate in this commune: missing, not a lean
    totals = territory_shares(rows, blocs).reindex(rows["code_departement"])
    voix = np.nan_to_num(raw)
    exprimes = rows["exprimes"].to_numpy(float)
    territory = local_territory_shares(voix, exprimes, present, rows["code_departement"].to_numpy())
    value = np.column_stack([voix / exprimes[:, None], 1 - rows["votants"].to_numpy(float) / rows["inscrits"].to_numpy(float)])
    t_all = np.column_stack([territory, totals[f"T_{ABSTENTION}"].to_numpy(float)])
    z = clr_deviation(smooth_shares(voix, exprimes, present), np.where(present, np.clip(territory, 1e-6, None), 0.0), present)
    z = np.column_stack([z, logit(value[:, -1]) - logit(t_all[:, -1])])
    stood_all = np.append(stood, True)
    out = pd.DataFrame(index=rows.index)
    out["code_departement"] = rows["code_departement"]
    local = np.column_stack([present, np.ones(len(rows), bool)])
    feature_only = data.ballots.set_index("scrutin_id").loc[scrutin_id, "type_scrutin"] not in TARGET_TYPES
    for j, o in enumerate(outputs(blocs)):
        out[f"part_{o}"] = np.where(local[:, j] | (not feature_only), value[:, j], np.nan)
        out[f"ecart_{o}"] = np.where(local[:, j], value[:, j] - t_all[:, j], np.nan) if stood_all[j] else np.nan
        out[f"z_{o}"] = np.where(local[:, j], z[:, j], np.nan)
        out[f"T_{o}"] = t_all[:, j]
    out["exprimes"] = exprimes
    out["inscrits"] = rows["inscrits"].to_numpy(float)
    out["estime"] = rows["estime"].to_numpy(bool) if "estime" in rows.columns else False
    out["date_estimation"] = rows["date_estimation"].to_numpy() if "date_estimation" in rows.columns else pd.NaT
    return out


def ballot_profiles(data: ElectionData) -> dict[str, pd.DataFrame]:
    """:func:`ballot_profile` of every ballot."""
    return {sid: ballot_profile(data, sid) for sid in data.ballots["scrutin_id"]}


# ─── Information sets ────────────────────────────────────────────────────────────────────

def years_between(earlier: pd.Timestamp, later: pd.Timestamp) -> float:
    """Years from ``earlier`` to ``later``."""
    return (later - earlier).days / DAYS_PER_YEAR


def information_date(ballots: pd.DataFrame, target: str, horizon: int | None = None) -> pd.Timestamp:
    """As-of date of a target's features: its own date, or with ``horizon`` the day after the newest ballot
    at least ``horizon`` years (rounded) before it — the forecast made once that ballot's results are out.

    Everything the row may use (earlier ballots, indicators, training rows, calibration) is dated
    strictly before this date, as :func:`electio.features.election_data.cut_to_date` would cut it.
    """
    date = ballots.set_index("scrutin_id").loc[target, "date_scrutin"]
    if horizon is None:
        return date
    earlier = ballots.loc[ballots["date_scrutin"] < date, "date_scrutin"]
    old_enough = earlier[((date - earlier).dt.days / DAYS_PER_YEAR).round().to_numpy() >= horizon]
    return old_enough.max() + pd.Timedelta(days=1) if len(old_enough) else earlier.min() if len(earlier) else date


def known_ballots(ballots: pd.DataFrame, target: str, horizon: int | None = None) -> pd.DataFrame:
    """Ballots known at the target's information date (:func:`information_date`): strictly earlier."""
    return ballots[ballots["date_scrutin"] < information_date(ballots, target, horizon)]


def available_horizons(ballots: pd.DataFrame, target: str, longest: int) -> list[int]:
    """Rounded gaps (years) between ``target`` and each earlier ballot, up to ``longest``."""
    date = ballots.set_index("scrutin_id").loc[target, "date_scrutin"]
    gaps = {round(years_between(d, date)) for d in ballots.loc[ballots["date_scrutin"] < date, "date_scrutin"]}
    return sorted(g for g in gaps if g <= longest)


# ─── Features ────────────────────────────────────────────────────────────────────────────

def _history_features(profile: pd.DataFrame, names: Sequence[str], tag: str, years: float) -> pd.DataFrame:
    """Features from one earlier ballot's profile, named ``f_<tag>_<kind>_<output>``."""
    columns = [f"{kind}_{o}" for kind in ("part", "ecart", "z") for o in names]
    out = profile[columns].add_prefix(f"{FEATURE_PREFIX}{tag}_")
    out[f"{FEATURE_PREFIX}{tag}_annees"] = years
    return out


def _lean(profiles: Sequence[pd.DataFrame], names: Sequence[str], index: pd.Index) -> pd.DataFrame:
    """Mean log-ratio deviation of each output over several earlier ballots (NaN-aware)."""
    columns = [f"z_{o}" for o in names]
    stacked = np.stack([p.reindex(index)[columns].to_numpy(float) for p in profiles])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: a bloc that never stood
        mean = np.nanmean(stacked, axis=0)
    return pd.DataFrame(mean, index=index, columns=[f"{FEATURE_PREFIX}moy_{c}" for c in columns])


def reference_deviation(same: pd.DataFrame | None, last: pd.DataFrame, lean: pd.DataFrame, names: Sequence[str],
                        recent: pd.DataFrame | None = None) -> pd.DataFrame:
    """The commune's expected deviation with no model: same-type value, else last ballot, else mean, else 0;
    with ``recent`` (the most recent présidentielle or européenne, when it is not the same-type ballot and
    :func:`blend_pays` says so), the mean of the same-type and recent values where the commune has both."""
    out = pd.DataFrame(index=lean.index)
    for o in names:
        value = last[f"z_{o}"].reindex(lean.index).combine_first(lean[f"{FEATURE_PREFIX}moy_z_{o}"])
        if same is not None:
            value = same[f"z_{o}"].reindex(lean.index).combine_first(value)
            if recent is not None:
                value = (0.5 * (value + recent[f"z_{o}"].reindex(lean.index))).combine_first(value)
        out[f"ref_z_{o}"] = value.fillna(0.0)
    return out


def reference_ballots(known: pd.DataFrame, kind: str) -> tuple[str | None, str | None]:
    """(same, recent) for a target of type ``kind`` given the earlier ballots ``known`` (date order): the newest
    ballot of that type, and the newest présidentielle or européenne when it is another ballot (else None)."""
    same = known.loc[known["type_scrutin"] == kind, "scrutin_id"]
    recent = known.loc[known["type_scrutin"].isin(TARGET_TYPES), "scrutin_id"]
    same_id = str(same.iloc[-1]) if len(same) else None
    recent_id = str(recent.iloc[-1]) if len(recent) else None
    return same_id, recent_id if same_id is not None and recent_id != same_id else None


def blend_pays(known: pd.DataFrame, profiles: dict[str, pd.DataFrame], names: Sequence[str]) -> bool:
    """Whether, on the target ballots among ``known`` (all earlier than the row being built: no leak), the mean of
    the same-type and the recent deviations (:func:`reference_ballots`) predicted each commune's deviation better
    than the same-type deviation alone: exprimés-weighted squared error in log-ratio over every output, summed
    over those ballots. False when no earlier ballot has both references."""
    columns = [f"z_{o}" for o in names]
    gain = 0.0
    for i, row in enumerate(known.itertuples(index=False)):
        same_id, recent_id = reference_ballots(known.iloc[:i], row.type_scrutin)
        if row.type_scrutin not in TARGET_TYPES or recent_id is None:
            continue
        truth = profiles[row.scrutin_id]
        y = truth[columns].to_numpy(float).clip(-Z_CLIP, Z_CLIP)
        s, r = (profiles[b].reindex(truth.index)[columns].to_numpy(float).clip(-Z_CLIP, Z_CLIP) for b in (same_id, recent_id))
        both = ~(np.isnan(y) | np.isnan(s) | np.isnan(r))
        weights = truth["exprimes"].to_numpy(float)[:, None] * both
        gain += float(np.sum(weights * (np.nan_to_num(y - s) ** 2 - np.nan_to_num(y - (s + r) / 2) ** 2)))
    return gain > 0


def indicator_features(indicators: pd.DataFrame | None, communes: pd.Index, before: pd.Timestamp) -> pd.DataFrame:
    """Latest value of each indicator published strictly before ``before`` (``f_ind_<code>``)."""
    if indicators is None or indicators.empty:
        return pd.DataFrame(index=communes)
    known = indicators[(indicators["date_publication"] < before) & indicators["code_commune"].isin(communes)]
    latest = known.sort_values("annee").groupby(["code_commune", "indicateur"])["valeur"].last().unstack()
    latest = latest.reindex(index=communes, columns=sorted(indicators["indicateur"].unique()))
    return latest.add_prefix(f"{FEATURE_PREFIX}ind_")


def territory_values(profile: pd.DataFrame, names: Sequence[str], departements: pd.Series) -> pd.DataFrame:
    """Département values (``T_<output>``) of a ballot for rows in ``departements`` (same index)."""
    columns = [f"T_{o}" for o in names]
    per_departement = profile.groupby("code_departement")[columns].first()
    return per_departement.reindex(departements.to_numpy()).set_axis(departements.index)


def _previous_territory(profiles: Sequence[pd.DataFrame], names: Sequence[str], stood: np.ndarray, departements: pd.Series) -> pd.DataFrame:
    """Département value of each output at the latest ballot where it stood (``profiles`` newest first)."""
    out = pd.DataFrame(index=departements.index)
    values = [territory_values(p, names, departements) for p in profiles]
    for j, o in enumerate(names):
        value = pd.Series(np.nan, index=departements.index)
        for territory, flags in zip(values, stood, strict=True):
            if flags[j]:
                value = value.combine_first(territory[f"T_{o}"])
        out[f"aux_Tprev_{o}"] = value
    return out


def _memo(store: dict, key: tuple, compute):  # noqa: ANN001, ANN202 - tiny memo helper
    if key not in store:
        store[key] = compute()
    return store[key]


def known_rows(profile: pd.DataFrame, informed: pd.Timestamp) -> pd.DataFrame:
    """A ballot's profile without the estimated unit rows whose reference ballot is not before ``informed``
    (the split uses that ballot's results: unknown on the information date)."""
    return profile[~(pd.to_datetime(profile["date_estimation"]) >= informed)]


def target_rows(data: ElectionData, profiles: dict[str, pd.DataFrame], target: str, horizon: int | None = None,
                blends: dict | None = None) -> pd.DataFrame:
    """Rows of one target ballot: keys, targets (``y_``), auxiliary (``aux_``, ``ref_``) and feature (``f_``) columns."""
    names = outputs(data.blocs)
    meta = data.ballots.set_index("scrutin_id")
    known = known_ballots(data.ballots, target, horizon)
    if known.empty:
        return pd.DataFrame()
    date, kind = meta.loc[target, "date_scrutin"], meta.loc[target, "type_scrutin"]
    newest_first = known.iloc[::-1]
    informed = information_date(data.ballots, target, horizon)
    profiles = {s: (p if s == target else known_rows(p, informed)) for s, p in profiles.items()}
    last_id = newest_first["scrutin_id"].iloc[0]
    same_ids = newest_first.loc[newest_first["type_scrutin"] == kind, "scrutin_id"]
    same_id = same_ids.iloc[0] if len(same_ids) else None
    known_profiles = [profiles[s] for s in newest_first["scrutin_id"]]
    seen = np.unique(np.concatenate([p.index.to_numpy() for p in known_profiles]))
    now = profiles[target][profiles[target].index.isin(seen)]  # communes with some history only
    now = now[~now["estime"]]  # an estimated unit row is never a target (docs/units.md, rule for the model)
    index, departements = now.index, now["code_departement"]
    last = profiles[last_id].reindex(index)
    last_territory = territory_values(profiles[last_id], names, departements)
    same = profiles[same_id].reindex(index) if same_id else None
    _, recent_id = reference_ballots(known, kind)
    blend = recent_id is not None and _memo({} if blends is None else blends, tuple(known["scrutin_id"]), lambda: blend_pays(known, profiles, names))
    recent = profiles[recent_id].reindex(index) if blend else None
    # Comparable ballot, per commune: the last one of the same type if the commune voted in it
    # (national coverage differs between ballots), else the last ballot of any type.
    has_same = same["exprimes"].notna() if same is not None else pd.Series(False, index=index)
    reference = same.where(has_same, last, axis=0) if same is not None else last
    ref_territory = territory_values(profiles[same_id], names, departements).where(has_same, last_territory, axis=0) if same is not None else last_territory

    keys = pd.DataFrame({"scrutin_id": target, "code_commune": index, "code_departement": departements.to_numpy(),
                         "type_scrutin": kind, "date_scrutin": date, "scrutin_ref": np.where(has_same, same_id or "", last_id),
                         "scrutin_dernier": last_id, "horizon_ans": round(years_between(meta.loc[last_id, "date_scrutin"], date)),
                         "date_information": information_date(data.ballots, target, horizon)}, index=index)
    stood = np.append(meta.loc[target, list(data.blocs)].to_numpy(bool), True)
    columns: dict[str, object] = {}
    for j, o in enumerate(names):
        columns |= {f"y_part_{o}": now[f"part_{o}"], f"y_z_{o}": now[f"z_{o}"], f"present_{o}": bool(stood[j]),
                    f"aux_part_ref_{o}": reference[f"part_{o}"], f"aux_T_ref_{o}": ref_territory[f"T_{o}"],
                    f"aux_T_der_{o}": last_territory[f"T_{o}"]}
    sizes = reference[["exprimes", "inscrits"]].combine_first(pd.DataFrame({"exprimes": now["exprimes"].median(), "inscrits": now["inscrits"].median()}, index=index))
    columns |= {"exprimes": now["exprimes"], "inscrits": now["inscrits"], "aux_exprimes_ref": sizes["exprimes"], "aux_inscrits_ref": sizes["inscrits"]}
    targets = pd.DataFrame(columns, index=index)
    known_stood = np.column_stack([newest_first[list(data.blocs)].to_numpy(bool), np.ones(len(newest_first), bool)])
    targets = targets.join(_previous_territory(known_profiles, names, known_stood, now["code_departement"]))

    lean = _lean(known_profiles, names, index)
    ref = reference_deviation(same, last, lean, names, recent)
    same_years = years_between(meta.loc[same_id, "date_scrutin"], date) if same_id else np.nan
    features = pd.concat([_history_features(last, names, "der", years_between(meta.loc[last_id, "date_scrutin"], date)),
                          _history_features(same if same is not None else last.select_dtypes("number") * np.nan, names, "meme", same_years), lean], axis=1)
    features[f"{FEATURE_PREFIX}log_inscrits"] = np.log(sizes["inscrits"])
    features[f"{FEATURE_PREFIX}meme_type_connu"] = has_same.astype(float)
    features[f"{FEATURE_PREFIX}nb_scrutins_connus"] = float(len(known))
    for t in BALLOT_TYPES:
        features[f"{FEATURE_PREFIX}type_{t}"] = float(kind == t)
    features = features.join(ref.add_prefix(FEATURE_PREFIX))
    features = features.join(indicator_features(data.indicators, index, information_date(data.ballots, target, horizon)))
    return pd.concat([keys, targets, ref, features], axis=1).reset_index(drop=True)


def build_modelling_table(data: ElectionData, horizon: int | None = None, targets: Iterable[str] | None = None) -> pd.DataFrame:
    """The commune × ballot table: one row per commune and target ballot with an earlier ballot known."""
    profiles = ballot_profiles(data)
    default = data.ballots.loc[data.ballots["type_scrutin"].isin(TARGET_TYPES), "scrutin_id"]
    wanted = list(targets) if targets is not None else list(default)
    blends: dict[tuple, bool] = {}  # blend_pays by set of known ballots
    frames = [f for f in (target_rows(data, profiles, t, horizon, blends) for t in wanted) if not f.empty]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if table.empty:
        return table
    indicator_columns = sorted(c for c in table.columns if c.startswith(f"{FEATURE_PREFIX}ind_"))
    base = [c for c in table.columns if not c.startswith(f"{FEATURE_PREFIX}ind_")]
    return table[base + indicator_columns]


def feature_columns(table: pd.DataFrame) -> list[str]:
    """The feature columns (``f_…``) of a modelling table."""
    return [c for c in table.columns if c.startswith(FEATURE_PREFIX)]


def _output_of(column: str, names: Sequence[str]) -> str | None:
    """The output a feature column belongs to (longest matching suffix), or None if commune-level."""
    return next((o for o in sorted(names, key=len, reverse=True) if column.endswith(f"_{o}")), None)


def stacked_design(table: pd.DataFrame, names: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """One row per commune × output, with output-generic features, for a single pooled model.

    Per-output features (``f_der_z_centre``…) become generic columns (``f_der_z``), joined by the
    commune-level ones, the département value at the comparable ballot (``f_T_ref``), an
    abstention flag, the sampling variance of the reference deviation (``f_bruit_ref``) and the
    expected regression of a noisy reference towards the commune's lean
    (``f_rappel_bruit`` = (reference − lean) × s² / (τ² + s²): large for small communes, ~0 for big ones). Target: deviation at the target ballot − reference deviation, NaN for a
    bloc that did not stand. Log-ratio columns are clipped to ±``Z_CLIP`` (only sampling noise of
    tiny communes goes beyond). Returns (features, target, group = commune:output), rows
    ordered output by output.
    """
    split = {c: _output_of(c, names) for c in feature_columns(table)}
    common = [c for c, o in split.items() if o is None]
    blocks, targets, groups = [], [], []
    for o in names:
        block = pd.DataFrame({c[: -len(o) - 1]: table[c].to_numpy(float) for c, owner in split.items() if owner == o})
        block[f"{FEATURE_PREFIX}T_ref"] = table[f"aux_T_ref_{o}"].to_numpy(float)
        block[f"{FEATURE_PREFIX}est_abstention"] = float(o == ABSTENTION)
        noise = reference_noise(table, o)
        lean = np.nan_to_num(table[f"{FEATURE_PREFIX}moy_z_{o}"].to_numpy(float)) if f"{FEATURE_PREFIX}moy_z_{o}" in table else 0.0
        block[f"{FEATURE_PREFIX}bruit_ref"] = noise
        block[f"{FEATURE_PREFIX}rappel_bruit"] = (table[f"ref_z_{o}"].to_numpy(float) - lean) * noise / (STRUCTURAL_VARIANCE + noise)
        block = pd.concat([block, table[common].reset_index(drop=True)], axis=1)
        target = table[f"y_z_{o}"].to_numpy(float) - table[f"ref_z_{o}"].to_numpy(float)
        blocks.append(block)
        targets.append(np.where(table[f"present_{o}"].to_numpy(bool), target, np.nan))
        groups.append(table["code_commune"].to_numpy(str) + f":{o}")
    x = pd.concat(blocks, ignore_index=True)
    z_columns = [c for c in x.columns if c.endswith("_z")]
    x[z_columns] = x[z_columns].clip(-Z_CLIP, Z_CLIP)
    return x, np.clip(np.concatenate(targets), -Z_CLIP, Z_CLIP), np.concatenate(groups)


def _sampling_variance(share: np.ndarray, size: np.ndarray, abstention: bool) -> np.ndarray:
    """Binomial variance of a log-ratio deviation: (1 − p) / (n p) for a bloc, 1 / (n p (1 − p)) for abstention (≤ 1)."""
    p = np.clip(np.nan_to_num(share, nan=0.5), SHARE_CLIP, 1 - SHARE_CLIP)
    n = np.maximum(np.nan_to_num(size, nan=1.0), 1.0)
    return np.minimum(1 / (n * p * (1 - p)) if abstention else (1 - p) / (n * p), 1.0)


def reference_noise(table: pd.DataFrame, output: str) -> np.ndarray:
    """Sampling variance of each commune's reference deviation (the comparable ballot's, at its exprimés or inscrits)."""
    share = table[f"aux_part_ref_{output}"].to_numpy(float)
    share = np.where(np.isnan(share), table[f"aux_T_ref_{output}"].to_numpy(float), share)
    size = table["aux_inscrits_ref" if output == ABSTENTION else "aux_exprimes_ref"].to_numpy(float)
    return _sampling_variance(share, size, output == ABSTENTION)


def stacked_weights(table: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """Inverse-variance weight of each stacked row (same order as :func:`stacked_design`).

    The target (deviation at the target ballot − reference deviation) carries the sampling noise
    of both ballots plus a structural part: variance ≈ τ² + s²_ref + s²_target, τ² =
    ``STRUCTURAL_VARIANCE``. A commune of 80 voters thus weighs far less than Villeurbanne.
    """
    weights = []
    for o in names:
        size = table["inscrits" if o == ABSTENTION else "exprimes"].to_numpy(float)
        target = _sampling_variance(table[f"y_part_{o}"].to_numpy(float), size, o == ABSTENTION)
        weights.append(1 / (STRUCTURAL_VARIANCE + reference_noise(table, o) + target))
    return np.concatenate(weights)


def has_indicators(table: pd.DataFrame) -> bool:
    """Whether any indicator feature is present."""
    return any(c.startswith(f"{FEATURE_PREFIX}ind_") for c in table.columns)


def table_hash(table: pd.DataFrame) -> str:
    """sha256 of the modelling table (row order and values), to tie a saved model to its data."""
    digest = hashlib.sha256()
    digest.update(",".join(table.columns).encode())
    digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return digest.hexdigest()
