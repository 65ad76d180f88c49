"""Data-quality contracts (pandera) on the fact and dimension tables before they are written.

Each rule yields one ``dq_check`` row: table, rule, severity and number of failing rows.
A failing ``bloquante`` rule stops the run before the warehouse is swapped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from electio import config
from electio.errors import InputError, QualityError
from electio.referentials import read_referential

BLOCKING = "bloquante"
WARNING = "avertissement"


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one rule on one table."""

    table_name: str
    regle: str
    severite: str
    lignes_en_echec: int
    exemple: str | None = None


def _counts(nullable: bool = False) -> pa.Column:
    return pa.Column("Int64", pa.Check.ge(0), nullable=nullable)


PARTICIPATION = pa.DataFrameSchema(
    {
        "scrutin_id": pa.Column(str),
        "code_commune": pa.Column(str, pa.Check.str_length(5, 5)),
        "inscrits": _counts(),
        "votants": _counts(),
        "blancs": _counts(nullable=True),
        "nuls": _counts(nullable=True),
        "exprimes": _counts(),
    },
    unique=["scrutin_id", "code_commune"],
    name="fact_participation",
)

RESULTAT = pa.DataFrameSchema(
    {
        "scrutin_id": pa.Column(str),
        "code_commune": pa.Column(str, pa.Check.str_length(5, 5)),
        "candidat_id": pa.Column("Int64"),
        "voix": _counts(),
    },
    unique=["scrutin_id", "code_commune", "candidat_id"],
    name="fact_resultat_commune",
)

CANDIDAT = pa.DataFrameSchema(
    {"candidat_id": pa.Column("Int64", unique=True), "candidat": pa.Column(str), "code_bloc": pa.Column(str, nullable=True)},
    unique=["scrutin_id", "candidat", "nuance"],
    name="dim_candidat",
)


def schema_checks(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> list[CheckResult]:
    """Run a pandera schema lazily; one result per (column, check), failures counted by row."""
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        results = []
        for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=True):
            rule = f"{column or 'table'} : {check}"
            example = str(group["failure_case"].iloc[0])
            results.append(CheckResult(schema.name, rule, BLOCKING, int(group["index"].nunique() or len(group)), example))
        return results
    return [CheckResult(schema.name, "schéma pandera (types, clés uniques, comptes ≥ 0)", BLOCKING, 0)]


def _rule(table: str, rule: str, failing: pd.DataFrame, severity: str = BLOCKING) -> CheckResult:
    example = None if failing.empty else failing.iloc[0].to_dict().__repr__()[:300]
    return CheckResult(table, rule, severity, len(failing), example)


def participation_rules(part: pd.DataFrame) -> list[CheckResult]:
    """inscrits ≥ votants ≥ exprimés, and blancs + nuls = votants − exprimés where both are known.

    Rows of :data:`SOURCE_ANOMALIES` ballots are reported apart, as warnings.
    """
    t = "fact_participation"
    known = part["scrutin_id"].isin(set(SOURCE_ANOMALIES)) if "scrutin_id" in part else pd.Series(False, index=part.index)
    results = []
    for subset, suffix, severity in ((part[~known], "", BLOCKING), (part[known], " (anomalies connues de la source)", WARNING)):
        split = subset.dropna(subset=["blancs", "nuls"])
        rules = [
            ("inscrits ≥ votants", subset[subset["inscrits"] < subset["votants"]]),
            ("votants ≥ exprimés", subset[subset["votants"] < subset["exprimes"]]),
            ("blancs + nuls = votants − exprimés", split[split["blancs"] + split["nuls"] != split["votants"] - split["exprimes"]]),
        ]
        if severity == BLOCKING or known.any():
            results += [_rule(t, rule + suffix, failing, severity) for rule, failing in rules]
    return results


# Municipales in communes under 1,000 inhabitants are multi-seat majority votes: each voter
# may vote for several candidates, so the sum of voix legitimately exceeds exprimés there.
MULTI_VOTE_TYPES = {"municipales"}
#: Ballots whose source has known inconsistent commune rows (kept, reported as warnings).
SOURCE_ANOMALIES: dict[str, str] = {
    "muni2026_t1": "fichier provisoire du 16 mars 2026 : voix ≠ exprimés dans 29 communes, votants incohérents dans 2",
}


def vote_sum_rules(part: pd.DataFrame, res: pd.DataFrame, scrutins: pd.DataFrame) -> list[CheckResult]:
    """Sum of voix equals exprimés per commune and ballot: blocking, a warning for multi-vote ballots."""
    sums = res.groupby(["scrutin_id", "code_commune"], as_index=False)["voix"].sum()
    merged = part.merge(sums, on=["scrutin_id", "code_commune"], how="left")
    merged["voix"] = merged["voix"].fillna(0)
    failing = merged[merged["voix"] != merged["exprimes"]][["scrutin_id", "code_commune", "exprimes", "voix"]]
    multi = set(scrutins.loc[scrutins["type_scrutin"].isin(MULTI_VOTE_TYPES), "scrutin_id"]) - set(SOURCE_ANOMALIES)
    in_multi = failing["scrutin_id"].isin(multi)
    in_source = failing["scrutin_id"].isin(set(SOURCE_ANOMALIES))
    results = [
        _rule("fact_resultat_commune", "somme des voix = exprimés", failing[~in_multi & ~in_source]),
        _rule("fact_resultat_commune", "somme des voix = exprimés (scrutin plurinominal : plusieurs voix par électeur)",
              failing[in_multi], WARNING),
    ]
    for scrutin_id in sorted(set(SOURCE_ANOMALIES) & set(scrutins["scrutin_id"])):
        results.append(_rule("fact_resultat_commune", f"somme des voix = exprimés ({scrutin_id}, {SOURCE_ANOMALIES[scrutin_id]})",
                             failing[failing["scrutin_id"] == scrutin_id], WARNING))
    return results


def no_bloc_rule(table: str, res: pd.DataFrame, cand: pd.DataFrame, unit: str) -> CheckResult:
    """Warning that counts the rows (units × ballots) with votes counted in no bloc (code_bloc NULL)."""
    unbloc = set(cand.loc[cand["code_bloc"].isna(), "candidat_id"])
    failing = res[res["candidat_id"].isin(unbloc) & (res["voix"] > 0)]
    per = failing.groupby("scrutin_id").size()
    detail = ", ".join(f"{sid} : {n}" for sid, n in per.items()) or "aucune"
    return _rule(table, f"{unit} dont des voix ne sont comptées dans aucun bloc (listes sans nuance) — {detail}", failing, WARNING)


def territory_rules(part: pd.DataFrame, res: pd.DataFrame, communes: pd.DataFrame, commune_part: pd.DataFrame) -> list[CheckResult]:
    """Territory totals: départements sum to France; votes = exprimés; equal to the commune facts they cover."""
    t = "fact_participation_territoire"
    counts = ["inscrits", "votants", "exprimes"]
    fr = part[part["niveau"] == "france"].set_index("scrutin_id")[counts]
    deps = part[part["niveau"] == "departement"].groupby("scrutin_id")[counts].sum()
    gap = (deps.reindex(fr.index) != fr).any(axis=1)
    res_fr = res[res["niveau"] == "france"].groupby(["scrutin_id", "candidat_id"])["voix"].sum()
    res_dep = res[res["niveau"] == "departement"].groupby(["scrutin_id", "candidat_id"])["voix"].sum()
    voix_gap = res_dep.reindex(res_fr.index, fill_value=0).ne(res_fr)
    sums = res.groupby(["scrutin_id", "niveau", "code_territoire"], as_index=False)["voix"].sum()
    merged = part.merge(sums, on=["scrutin_id", "niveau", "code_territoire"], how="left").fillna({"voix": 0})
    unequal = merged[merged["voix"] != merged["exprimes"]][["scrutin_id", "code_territoire", "exprimes", "voix"]]
    return [
        _rule(t, "somme des départements = total France (inscrits, votants, exprimés)", fr[gap].reset_index()),
        _rule("fact_resultat_territoire", "somme des voix des départements = voix France", voix_gap[voix_gap].reset_index()),
        _rule(t, "inscrits ≥ votants ≥ exprimés", part[(part["inscrits"] < part["votants"]) | (part["votants"] < part["exprimes"])]),
        _rule("fact_resultat_territoire", "somme des voix = exprimés (écarts de la source)", unequal, WARNING),
        *commune_match_rules(part, communes, commune_part),
    ]


def commune_match_rules(part: pd.DataFrame, communes: pd.DataFrame, commune_part: pd.DataFrame) -> list[CheckResult]:
    """A département total equals the sum of its commune facts when the warehouse has all its communes.

    Blocking when the totals were summed from the same commune file, a warning when they come
    from a separate département file (two publications of the Ministry).
    """
    real = communes.loc[communes["type_unite"] == "commune", ["code_commune", "code_departement"]]
    expected = real.groupby("code_departement").size()
    facts = commune_part.merge(real, on="code_commune")
    present = facts.groupby(["scrutin_id", "code_departement"]).agg(n=("code_commune", "size"), inscrits=("inscrits", "sum"), exprimes=("exprimes", "sum"))
    present = present[present["n"] == present.index.get_level_values(1).map(expected).to_numpy()].reset_index()
    deps = part[part["niveau"] == "departement"].rename(columns={"code_territoire": "code_departement"})
    both = deps.merge(present, on=["scrutin_id", "code_departement"], suffixes=("", "_communes"))
    unequal = both[(both["inscrits"] != both["inscrits_communes"]) | (both["exprimes"] != both["exprimes_communes"])]
    columns = ["scrutin_id", "code_departement", "inscrits", "inscrits_communes", "exprimes", "exprimes_communes"]
    same_file = unequal["methode"] == "agregation_communes"
    rule = "total du département = somme des communes de l'entrepôt (inscrits, exprimés)"
    return [
        _rule("fact_participation_territoire", f"{rule}, même fichier", unequal[same_file][columns]),
        _rule("fact_participation_territoire", f"{rule}, fichier départemental distinct", unequal[~same_file][columns], WARNING),
    ]


def known_codes_rule(table: str, frame: pd.DataFrame, column: str, known: pd.Series, label: str) -> CheckResult:
    """Every value of ``column`` exists in the referential ``known``."""
    failing = frame[~frame[column].isin(set(known))]
    return _rule(table, f"{column} connu de {label}", failing)


def poll_rules(tables: dict[str, pd.DataFrame]) -> list[CheckResult]:
    """Poll tables: unique ids, shares in [0, 100], known blocs; incomplete first rounds are a warning
    (the sums themselves are checked while parsing: electio.quality.polls)."""
    if "dim_sondage" not in tables:
        return []
    dim, facts = tables["dim_sondage"], tables["fact_intention_vote"]
    shares = facts["intention"].astype("Float64")
    return [
        _rule("dim_sondage", "sondage_id unique", dim[dim["sondage_id"].duplicated()]),
        _rule("fact_intention_vote", "intention entre 0 et 100 %", facts[((shares < 0) | (shares > 100)).fillna(False)]),
        known_codes_rule("fact_intention_vote", facts, "code_bloc", tables["dim_bloc"]["code_bloc"], "dim_bloc"),
        _rule("dim_sondage", "premier tour : somme des intentions = 100 ± 3 % (sinon scénario incomplet)",
              dim[~dim["complet"]][["sondage_id", "somme_intentions"]], WARNING),
    ]


def run_contracts(tables: dict[str, pd.DataFrame]) -> list[CheckResult]:
    """All contracts on the tables about to be written."""
    part, res, cand = tables["fact_participation"], tables["fact_resultat_commune"], tables["dim_candidat"]
    communes, blocs = tables["dim_commune"]["code_commune"], tables["dim_bloc"]["code_bloc"]
    return [
        *schema_checks(PARTICIPATION, part),
        *schema_checks(RESULTAT, res),
        *schema_checks(CANDIDAT, cand),
        *participation_rules(part),
        *vote_sum_rules(part, res, tables["dim_scrutin"]),
        known_codes_rule("fact_participation", part, "code_commune", communes, "dim_commune"),
        known_codes_rule("fact_resultat_commune", res, "code_commune", communes, "dim_commune"),
        known_codes_rule("dim_candidat", cand.dropna(subset=["code_bloc"]), "code_bloc", blocs, "dim_bloc"),
        no_bloc_rule("fact_resultat_commune", res, cand, "communes"),
        *(territory_rules(tables["fact_participation_territoire"], tables["fact_resultat_territoire"], tables["dim_commune"], part)
          if "fact_participation_territoire" in tables else []),
        *poll_rules(tables),
        *unit_rules(tables),
    ]


def unit_rules(tables: dict[str, pd.DataFrame]) -> list[CheckResult]:
    """Arrondissement facts: known units, and units summing exactly to their commune (every count, every candidate)."""
    if "fact_participation_arrondissement" not in tables:
        return []
    part, res = tables["fact_participation_arrondissement"], tables["fact_resultat_arrondissement"]
    keys, counts = ["scrutin_id", "code_commune"], ["inscrits", "votants", "blancs", "nuls", "exprimes"]
    summed = part.groupby(keys, as_index=False)[counts].sum(min_count=1)
    commune = summed.merge(tables["fact_participation"], on=keys, how="left", suffixes=("", "_commune"))
    gap = pd.concat([commune[c].astype("Float64").fillna(-1) != commune[f"{c}_commune"].astype("Float64").fillna(-1)
                     for c in counts], axis=1).any(axis=1)
    voix = res.groupby([*keys, "candidat_id"], as_index=False)["voix"].sum()
    voix = voix.merge(tables["fact_resultat_commune"], on=[*keys, "candidat_id"], how="outer", suffixes=("", "_commune"))
    voix = voix.merge(part[keys].drop_duplicates(), on=keys)  # the (ballot, commune) pairs that have units
    t = "fact_participation_arrondissement"
    return [
        known_codes_rule(t, part, "code_unite", tables["dim_unite"]["code_unite"], "dim_unite"),
        _rule(t, "somme des unités = commune (inscrits, votants, blancs, nuls, exprimés)", commune[gap.to_numpy()]),
        _rule("fact_resultat_arrondissement", "somme des unités = commune (voix par candidat)",
              voix[voix["voix"].fillna(-1) != voix["voix_commune"].fillna(-1)]),
    ]


PLAUSIBILITY_CSV = config.REFERENTIALS_DIR / "indicateurs_plausibilite.csv"


def load_plausibility(path: Path = PLAUSIBILITY_CSV) -> pd.DataFrame:
    """Plausible range (``minimum``, ``maximum``, inclusive) of each indicator that has one."""
    frame = read_referential(path, ["indicateur", "minimum", "maximum", "motif"])
    try:
        bounds = frame[["minimum", "maximum"]].astype(float)
    except ValueError as exc:
        raise InputError(path, f"bornes non numériques ({exc})") from None
    if frame["indicateur"].duplicated().any() or (bounds["minimum"] > bounds["maximum"]).any():
        bad = int((frame["indicateur"].duplicated() | (bounds["minimum"] > bounds["maximum"])).to_numpy().nonzero()[0][0])
        raise InputError(path, f"indicateur en double ou bornes inversées : {frame['indicateur'].iloc[bad]}", line=bad + 2)
    return frame.assign(minimum=bounds["minimum"], maximum=bounds["maximum"])


def check_plausibility(frame: pd.DataFrame, path: Path | str, ranges: pd.DataFrame | None = None) -> None:
    """Raise an InputError naming the file and line of the first parsed value outside its indicator's range.

    ``frame`` is a long indicator frame (``indicateur``, ``valeur``, ``ligne_source``) as a parser returns it;
    a value out of range is usually a misread number (``23.290`` or ``23,290`` read as 23.29 €).
    """
    ranges = load_plausibility() if ranges is None else ranges
    rows = frame[["indicateur", "valeur", "ligne_source"]].merge(ranges, on="indicateur")
    values = rows["valeur"].astype("Float64")
    outside = rows[((values < rows["minimum"]) | (values > rows["maximum"])).fillna(False).astype(bool)]
    if outside.empty:
        return
    row = outside.sort_values("ligne_source", kind="stable").iloc[0]

    def fr(number: float) -> str:
        return f"{number:,.6g}".replace(",", " ").replace(".", ",")

    line = None if pd.isna(row["ligne_source"]) else int(row["ligne_source"])
    raise InputError(path, f"{row['indicateur']} = {fr(float(row['valeur']))} hors de la plage plausible "
                           f"[{fr(row['minimum'])} ; {fr(row['maximum'])}] ({row['motif']}) ; séparateur de milliers lu comme "
                           f"décimale ? ({len(outside)} valeur(s) hors plage)", line=line)


def raise_on_blocking(results: list[CheckResult]) -> None:
    """Stop the run when a blocking rule has failing rows."""
    failed = [r for r in results if r.severite == BLOCKING and r.lignes_en_echec > 0]
    if failed:
        lines = "; ".join(f"{r.table_name} / {r.regle} : {r.lignes_en_echec} ligne(s), ex. {r.exemple}" for r in failed)
        raise QualityError(f"contrat(s) de qualité bloquant(s) en échec : {lines}")


def as_frame(results: list[CheckResult], run_id: str) -> pd.DataFrame:
    """``dq_check`` rows for a run."""
    frame = pd.DataFrame([r.__dict__ for r in results], columns=list(CheckResult.__dataclass_fields__))
    frame.insert(0, "run_id", run_id)
    return frame
