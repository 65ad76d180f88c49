"""Units of analysis below the commune: the arrondissements municipaux of Paris, Lyon, Marseille.

The unit of analysis is the commune, except in a commune listed in ``referentials/unites_analyse.csv``,
where it is each of its arrondissements (plus, where declared, a unit for the bureaux that belong
to no arrondissement). A bureau de vote maps to a unit by the first two digits of its 4-digit
code (``prefixe_bureau``). Results of bureau-level ballots are summed per unit (``estime`` false);
for a ballot published at commune level only, the commune's total is split over its units with
the unit shares of the nearest bureau-level ballot (``estime`` true; see docs/units.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from electio import config
from electio.errors import InputError
from electio.parse.ballot import BUREAU, CODE, COUNT_COLUMNS, ParsedBallot
from electio.referentials import read_referential

UNITS_CSV = config.REFERENTIALS_DIR / "unites_analyse.csv"
BUREAU_SOURCES_CSV = config.REFERENTIALS_DIR / "scrutins_bureaux.csv"
UNIT_COLUMNS = ["code_unite", "nom_unite", "type_unite", "code_commune", "prefixe_bureau", "regle"]
UNIT_TYPES = ("arrondissement", "hors_arrondissement")
BUREAU_WIDTH = 4
PREFIX_WIDTH = 2
VOTE_KEYS = ["candidat", "prenom", "nuance"]
PART_COLUMNS = ["scrutin_id", "code_unite", "code_commune", *COUNT_COLUMNS, "estime", "scrutin_reference"]
VOIX_COLUMNS = ["scrutin_id", "code_unite", "code_commune", "candidat_id", "voix", "estime", "scrutin_reference"]


def load_units(path: Path = UNITS_CSV) -> pd.DataFrame:
    """The declared units below the commune; raises on a repeated code or bureau prefix."""
    frame = read_referential(path, UNIT_COLUMNS)[UNIT_COLUMNS]
    bad_type = ~frame["type_unite"].isin(UNIT_TYPES)
    bad_prefix = ~frame["prefixe_bureau"].str.fullmatch(rf"[0-9]{{{PREFIX_WIDTH}}}")
    for mask, what in ((bad_type, "type_unite inconnu"), (bad_prefix, "prefixe_bureau invalide (2 chiffres)"),
                       (frame["code_unite"].duplicated(), "code_unite en double"),
                       (frame.duplicated(["code_commune", "prefixe_bureau"]), "préfixe de bureau en double")):
        if mask.any():
            first = int(np.flatnonzero(mask.to_numpy())[0])
            raise InputError(path, f"{what} : {frame.iloc[first]['code_unite']}", line=first + 2)
    return frame


def load_bureau_sources(path: Path = BUREAU_SOURCES_CSV) -> dict[str, str]:
    """Ballot → extra bureau-level source read for its units only (its commune source has no bureaux)."""
    frame = read_referential(path, ["scrutin_id", "source_id", "motif"])
    return dict(zip(frame["scrutin_id"], frame["source_id"], strict=True))


def territory_units(units: pd.DataFrame, communes: pd.DataFrame) -> pd.DataFrame:
    """The declared units whose commune is in the territory."""
    return units[units["code_commune"].isin(communes["code_commune"])].reset_index(drop=True)


def dim_unite(communes: pd.DataFrame, units: pd.DataFrame, populations: dict[str, float]) -> pd.DataFrame:
    """Every unit of analysis: each commune, except those split into declared units.

    ``populations`` holds the population légale of the arrondissements (COG file).
    """
    whole = communes[~communes["code_commune"].isin(units["code_commune"])]
    plain = pd.DataFrame({"code_unite": whole["code_commune"], "nom_unite": whole["nom_commune"],
                          "type_unite": whole["type_unite"], "code_commune": whole["code_commune"],
                          "code_departement": whole["code_departement"], "population": whole["population"]})
    departement = communes.set_index("code_commune")["code_departement"]
    split = pd.DataFrame({"code_unite": units["code_unite"], "nom_unite": units["nom_unite"],
                          "type_unite": units["type_unite"], "code_commune": units["code_commune"],
                          "code_departement": units["code_commune"].map(departement),
                          "population": units["code_unite"].map(populations)})
    frame = pd.concat([plain, split], ignore_index=True)
    frame["population"] = pd.to_numeric(frame["population"]).astype("Int64")
    return frame


def bureau_units(bureaux: pd.DataFrame, units: pd.DataFrame, path: Path) -> pd.Series:
    """Unit of each bureau of a split commune; InputError when a bureau matches no declared unit."""
    prefix = bureaux[BUREAU].str.strip().str.zfill(BUREAU_WIDTH).str[:PREFIX_WIDTH]
    keys = pd.DataFrame({"code_commune": bureaux[CODE].to_numpy(), "prefixe_bureau": prefix.to_numpy()})
    found = keys.merge(units[["code_commune", "prefixe_bureau", "code_unite"]], how="left", validate="many_to_one")
    found = pd.Series(found["code_unite"].to_numpy(), index=bureaux.index)
    if found.isna().any():
        row = bureaux[found.isna()].iloc[0]
        raise InputError(path, f"bureau {row[BUREAU]} de la commune {row[CODE]} sans unité d'analyse "
                               f"dans {UNITS_CSV.name} (préfixe {prefix[found.isna()].iloc[0]})")
    return found


def measured(parsed: ParsedBallot, units: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(participation, voix, audit) per unit of a bureau-level ballot, for the split communes.

    ``voix`` keeps the candidate keys (``candidat``, ``prenom``, ``nuance``); the audit lists
    every bureau with its unit.
    """
    if parsed.bureaux is None or parsed.voix_bureaux is None:
        raise InputError(path, "fichier sans bureaux de vote : unités infra-communales impossibles")
    bureaux = parsed.bureaux[parsed.bureaux[CODE].isin(units["code_commune"])].copy()
    bureaux["code_unite"] = bureau_units(bureaux, units, path)
    voix = parsed.voix_bureaux[parsed.voix_bureaux[CODE].isin(units["code_commune"])]
    voix = voix.merge(bureaux[[CODE, BUREAU, "code_unite"]], on=[CODE, BUREAU], how="left", validate="many_to_one")
    group = ["code_unite", CODE]
    part = bureaux.groupby(group, as_index=False)[list(COUNT_COLUMNS)].sum(min_count=1)
    voix = voix.groupby([*group, *VOTE_KEYS], as_index=False, dropna=False)["voix"].sum()
    audit = bureaux[[CODE, BUREAU, "code_unite"]]
    frames = []
    for frame in (part, voix, audit):
        frame = frame.rename(columns={CODE: "code_commune"})
        frame.insert(0, "scrutin_id", parsed.scrutin_id)
        frames.append(frame)
    return frames[0], frames[1], frames[2]


def attach_candidates(voix: pd.DataFrame, dim_candidat: pd.DataFrame) -> pd.DataFrame:
    """Measured unit voix with ``candidat_id`` (keys as in ``etl.candidates_and_results``)."""
    keys = ["scrutin_id", "candidat", "nuance"]
    facts = voix.merge(dim_candidat[["candidat_id", *keys]], on=keys, how="left")
    if facts["candidat_id"].isna().any():
        first = facts[facts["candidat_id"].isna()].iloc[0]
        raise ValueError(f"candidat sans identifiant pour une unité : {first['scrutin_id']} {first['candidat']}")
    facts = facts.groupby(["scrutin_id", "code_unite", "code_commune", "candidat_id"], as_index=False)["voix"].sum()
    return facts.assign(estime=False, scrutin_reference=None)[VOIX_COLUMNS]


def apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """``total`` split in integers proportional to ``weights`` (largest remainder; sums to ``total``).

    Equal weights share the total when every weight is zero.
    """
    weights = np.asarray(weights, dtype="float64")
    if weights.sum() <= 0:
        weights = np.ones_like(weights)
    exact = total * weights / weights.sum()
    parts = np.floor(exact).astype("int64")
    remainder = int(total - parts.sum())
    order = np.argsort(-(exact - parts), kind="stable")
    parts[order[:remainder]] += 1
    return parts


def reference_ballot(target: pd.Series, candidates: pd.DataFrame) -> str | None:
    """The bureau-level ballot whose unit shares split ``target``: same type first, then same
    round, then nearest in time (an earlier one wins a tie); None when there is none."""
    if candidates.empty:
        return None
    days = (pd.to_datetime(candidates["date_scrutin"]) - pd.to_datetime(target["date_scrutin"])).dt.days
    order = pd.DataFrame({"type": candidates["type_scrutin"] != target["type_scrutin"],
                          "tour": candidates["tour"] != target["tour"], "distance": days.abs(), "later": days > 0,
                          "scrutin_id": candidates["scrutin_id"]})
    return str(order.sort_values(["type", "tour", "distance", "later"]).iloc[0]["scrutin_id"])


def estimate(participation: pd.DataFrame, results: pd.DataFrame, unit_part: pd.DataFrame, unit_voix: pd.DataFrame,
             scrutins: pd.DataFrame, dim_candidat: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Estimated unit rows for the (ballot, split commune) pairs that have no bureau data.

    Each count of the commune (inscrits, votants, blancs, nuls, exprimés) is split with that
    count's unit shares in the reference ballot; each candidate's voix with the unit shares of
    the candidate's bloc in the reference ballot (of its exprimés when the bloc did not stand
    there, or the candidate has no bloc). Integers by largest remainder: units sum exactly to
    the commune.
    """
    communes = unit_part["code_commune"].unique()
    measured_pairs = set(zip(unit_part["scrutin_id"], unit_part["code_commune"], strict=True))
    bloc_of = dim_candidat.set_index("candidat_id")["code_bloc"]
    unit_bloc = unit_voix.assign(code_bloc=unit_voix["candidat_id"].map(bloc_of))
    unit_bloc = unit_bloc.groupby(["scrutin_id", "code_unite", "code_commune", "code_bloc"], as_index=False)["voix"].sum()
    info = scrutins.drop_duplicates("scrutin_id").set_index("scrutin_id")
    parts, voix = [], []
    for (scrutin_id, commune), row in participation[participation["code_commune"].isin(communes)].set_index(
            ["scrutin_id", "code_commune"]).iterrows():
        if (scrutin_id, commune) in measured_pairs:
            continue
        known = unit_part.loc[unit_part["code_commune"] == commune, "scrutin_id"].unique()
        reference = reference_ballot(info.loc[scrutin_id].rename(None).to_dict() | {"scrutin_id": scrutin_id},
                                     info.loc[known].reset_index())
        if reference is None:
            continue
        ref = unit_part[(unit_part["scrutin_id"] == reference) & (unit_part["code_commune"] == commune)]
        estimated = pd.DataFrame({"scrutin_id": scrutin_id, "code_unite": ref["code_unite"].to_numpy(), "code_commune": commune})
        for column in COUNT_COLUMNS:
            weights = ref[column].fillna(0).to_numpy()
            estimated[column] = pd.NA if pd.isna(row[column]) else apportion(int(row[column]), weights)
        parts.append(estimated.assign(estime=True, scrutin_reference=reference))
        blocs = unit_bloc[(unit_bloc["scrutin_id"] == reference) & (unit_bloc["code_commune"] == commune)]
        shares = blocs.pivot_table(index="code_unite", columns="code_bloc", values="voix", aggfunc="sum")
        shares = shares.reindex(ref["code_unite"]).fillna(0)
        commune_voix = results[(results["scrutin_id"] == scrutin_id) & (results["code_commune"] == commune)]
        for candidat_id, total in zip(commune_voix["candidat_id"], commune_voix["voix"], strict=True):
            bloc = bloc_of.get(candidat_id)
            weights = shares[bloc].to_numpy() if bloc in shares.columns and shares[bloc].sum() > 0 else ref["exprimes"].fillna(0).to_numpy()
            voix.append(pd.DataFrame({"scrutin_id": scrutin_id, "code_unite": ref["code_unite"].to_numpy(), "code_commune": commune,
                                      "candidat_id": candidat_id, "voix": apportion(int(total), weights),
                                      "estime": True, "scrutin_reference": reference}))
    empty_part, empty_voix = pd.DataFrame(columns=PART_COLUMNS), pd.DataFrame(columns=VOIX_COLUMNS)
    return (pd.concat(parts, ignore_index=True)[PART_COLUMNS] if parts else empty_part,
            pd.concat(voix, ignore_index=True)[VOIX_COLUMNS] if voix else empty_voix)


def arrondissement_populations(communes_json: Path) -> dict[str, float]:
    """Population légale of each arrondissement municipal in the COG communes file."""
    frame = pd.read_json(communes_json)
    frame = frame[frame["type"] == "arrondissement-municipal"]
    return dict(zip(frame["code"].astype("str"), frame["population"], strict=True))
