"""Data-quality contracts (pandera) on the fact and dimension tables before they are written.

Each rule yields one ``dq_check`` row: table, rule, severity and number of failing rows.
A failing ``bloquante`` rule stops the run before the warehouse is swapped.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa

from electio.errors import QualityError

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
    {"candidat_id": pa.Column("Int64", unique=True), "candidat": pa.Column(str), "code_bloc": pa.Column(str)},
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
    """inscrits ≥ votants ≥ exprimés, and blancs + nuls = votants − exprimés where both are known."""
    t = "fact_participation"
    split = part.dropna(subset=["blancs", "nuls"])
    return [
        _rule(t, "inscrits ≥ votants", part[part["inscrits"] < part["votants"]]),
        _rule(t, "votants ≥ exprimés", part[part["votants"] < part["exprimes"]]),
        _rule(t, "blancs + nuls = votants − exprimés", split[split["blancs"] + split["nuls"] != split["votants"] - split["exprimes"]]),
    ]


# Municipales in communes under 1,000 inhabitants are multi-seat majority votes: each voter
# may vote for several candidates, so the sum of voix legitimately exceeds exprimés there.
MULTI_VOTE_TYPES = {"municipales"}


def vote_sum_rules(part: pd.DataFrame, res: pd.DataFrame, scrutins: pd.DataFrame) -> list[CheckResult]:
    """Sum of voix equals exprimés per commune and ballot: blocking, a warning for multi-vote ballots."""
    sums = res.groupby(["scrutin_id", "code_commune"], as_index=False)["voix"].sum()
    merged = part.merge(sums, on=["scrutin_id", "code_commune"], how="left")
    merged["voix"] = merged["voix"].fillna(0)
    failing = merged[merged["voix"] != merged["exprimes"]][["scrutin_id", "code_commune", "exprimes", "voix"]]
    multi = set(scrutins.loc[scrutins["type_scrutin"].isin(MULTI_VOTE_TYPES), "scrutin_id"])
    in_multi = failing["scrutin_id"].isin(multi)
    return [
        _rule("fact_resultat_commune", "somme des voix = exprimés", failing[~in_multi]),
        _rule("fact_resultat_commune", "somme des voix = exprimés (scrutin plurinominal : plusieurs voix par électeur)",
              failing[in_multi], WARNING),
    ]


def known_codes_rule(table: str, frame: pd.DataFrame, column: str, known: pd.Series, label: str) -> CheckResult:
    """Every value of ``column`` exists in the referential ``known``."""
    failing = frame[~frame[column].isin(set(known))]
    return _rule(table, f"{column} connu de {label}", failing)


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
        known_codes_rule("dim_candidat", cand, "code_bloc", blocs, "dim_bloc"),
    ]


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
