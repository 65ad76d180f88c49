"""Derived indicator values (rates, density) and mapping of indicator frames to COG 2026.

Both functions take and return the long frame of the indicator parsers
(``electio.parse.indicators_common.COLUMNS``). See ``docs/indicators.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from electio.config import REFERENCE_COG, REFERENTIALS_DIR
from electio.errors import InputError
from electio.parse.indicators_common import DERIVE, NON_PUBLIE, QUALITES, finalize

INDICATORS_FILE = REFERENTIALS_DIR / "indicateurs.csv"
ADDITIVE_UNITS = frozenset({"habitants", "nombre", "km²"})
"""Units whose values add up over merged communes; every other unit is averaged."""
SAME_YEAR, EARLIER, STATIC = "meme_annee", "anterieure", "statique"
KEYS = ["code_commune_source", "cog_annee", "indicateur", "annee"]
_RANK = {q: i for i, q in enumerate(QUALITES)}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ratio:
    """A derived value: numerator / denominator × factor, the denominator matched by ``match``."""

    indicateur: str
    numerator: str
    denominator: str
    factor: float
    match: str = EARLIER


RATIOS = (
    Ratio("densite", "population", "superficie", 1.0, STATIC),
    Ratio("taux_chomage", "chomeurs_15_64", "actifs_15_64", 100.0, SAME_YEAR),
    Ratio("taux_rsa", "personnes_couvertes_rsa", "population", 100.0),
    Ratio("etablissements_pour_1000hab", "etablissements", "population", 1000.0),
    Ratio("salaries_prives_pour_1000hab", "effectifs_salaries_prives", "population", 1000.0),
    Ratio("demandeurs_emploi_pour_1000hab", "demandeurs_emploi", "population", 1000.0),
    Ratio("atteintes_personnes_pour_1000hab", "faits_atteintes_personnes", "population", 1000.0),
    Ratio("atteintes_biens_pour_1000hab", "faits_atteintes_biens", "population", 1000.0),
    Ratio("destructions_degradations_pour_1000hab", "faits_destructions_degradations", "population", 1000.0),
    Ratio("part_logements_vacants", "logements_vacants", "logements", 100.0, SAME_YEAR),
    Ratio("part_residences_secondaires", "residences_secondaires", "logements", 100.0, SAME_YEAR),
    Ratio("part_proprietaires", "rp_proprietaires", "residences_principales", 100.0, SAME_YEAR),
)
"""Every per-capita rate, share and density of the project is computed here and only here."""


def worst(qualites: Iterable[str]) -> str:
    """Worst quality flag of a collection (``ok`` < ``derive`` < ``non_publie`` < ``secret``)."""
    return QUALITES[max((_RANK[q] for q in qualites), default=0)]


def _best_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per key: a non-NA value first, then the best quality flag."""
    ordered = frame.assign(_na=frame["valeur"].isna(), _rang=frame["qualite"].map(_RANK))
    ordered = ordered.sort_values(["_na", "_rang"], kind="stable")
    return ordered.drop_duplicates(KEYS).drop(columns=["_na", "_rang"])


def _cog_key(frame: pd.DataFrame) -> pd.Series:
    """``cog_annee`` as a join key (-1 for NA)."""
    return frame["cog_annee"].fillna(-1).astype(int)


def _match_denominator(numerator: pd.DataFrame, denominator: pd.DataFrame, match: str) -> pd.DataFrame:
    """Numerator rows with the denominator of the same code and COG, matched on the year."""
    by = ["code_commune_source", "_cog"]
    left = numerator.assign(_cog=_cog_key(numerator), _an=numerator["annee"].astype(int))
    right = denominator.assign(_cog=_cog_key(denominator), _an=denominator["annee"].astype(int))
    right = right[[*by, "_an", "valeur", "qualite"]].rename(columns={"valeur": "_den", "qualite": "_qden"})
    if match == SAME_YEAR:
        return left.merge(right, on=[*by, "_an"], how="inner")
    direction = "backward" if match == EARLIER else "nearest"
    merged = pd.merge_asof(
        left.sort_values("_an"),
        right.sort_values("_an"),
        on="_an",
        by=by,
        direction=direction,
    )
    return merged[merged["_qden"].notna()]


def _ratio_rows(frame: pd.DataFrame, ratio: Ratio) -> pd.DataFrame:
    """Derived rows of one ratio (NA with the worst flag when a part is NA or the denominator is 0)."""
    numerator = frame[frame["indicateur"] == ratio.numerator]
    denominator = frame[(frame["indicateur"] == ratio.denominator) & frame["annee"].notna()]
    numerator = numerator[numerator["annee"].notna()]
    if numerator.empty or denominator.empty:
        return pd.DataFrame(columns=KEYS)
    merged = _match_denominator(numerator, denominator, ratio.match)
    den = merged["_den"].astype("Float64")
    valid = merged["valeur"].notna() & den.notna() & den.gt(0).fillna(False)
    value = (merged["valeur"] / den.where(valid) * ratio.factor).where(valid)
    pairs = zip(merged["qualite"], merged["_qden"], valid, strict=True)
    qualite = [worst([a, b, DERIVE if ok else NON_PUBLIE]) for a, b, ok in pairs]
    return pd.DataFrame(
        {
            "code_commune_source": merged["code_commune_source"],
            "cog_annee": merged["cog_annee"],
            "indicateur": ratio.indicateur,
            "annee": merged["annee"],
            "valeur": value,
            "qualite": pd.Series(qualite, index=merged.index, dtype="str"),
            "ligne_source": pd.NA,
        }
    )


def derive_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the derived rates, shares and density of :data:`RATIOS` to a long frame.

    Codes are matched on (``code_commune_source``, ``cog_annee``), so run it on one geography
    (normally after :func:`to_reference_cog`). The denominator is the same year's, or the
    nearest earlier year's for per-capita rates; ``superficie`` is taken from the nearest
    year (static). A value already in ``frame`` for the same key wins over a derived one.
    Derived values are flagged ``derive``; an NA part gives NA with the worst flag.
    """
    frame = finalize(frame)
    base = _best_rows(frame)
    derived = [_ratio_rows(base, ratio) for ratio in RATIOS]
    derived = [d for d in derived if not d.empty]
    if not derived:
        return frame
    new = finalize(pd.concat(derived, ignore_index=True))
    flagged = new.merge(frame[KEYS].drop_duplicates(), on=KEYS, how="left", indicator=True)
    new = new[(flagged["_merge"] == "left_only").to_numpy()]
    return finalize(pd.concat([frame, new], ignore_index=True))


@lru_cache(maxsize=4)
def indicator_units(path: Path = INDICATORS_FILE) -> dict[str, str]:
    """Unit of each indicator code of the referential."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if list(table.columns[:4]) != ["indicateur", "libelle", "theme", "unite"]:
        raise InputError(path, "colonnes indicateur,libelle,theme,unite attendues", line=1)
    return dict(zip(table["indicateur"], table["unite"], strict=True))


def _check_mapping(mapping: pd.DataFrame) -> pd.DataFrame:
    """Mapping with exactly one row per ``code_source``, else an InputError."""
    where = "table de passage (code_source → code_reference)"
    missing = {"code_source", "code_reference"} - set(mapping.columns)
    if missing:
        raise InputError(where, f"colonnes absentes : {', '.join(sorted(missing))}")
    mapping = mapping[["code_source", "code_reference"]].astype(str)
    duplicated = mapping["code_source"][mapping["code_source"].duplicated()]
    if not duplicated.empty:
        raise InputError(where, f"code_source en double : {', '.join(sorted(duplicated.unique())[:5])}")
    return mapping


def _weights(frame: pd.DataFrame, population: pd.DataFrame) -> pd.Series:
    """Population weight of each row: same code, nearest earlier year, else nearest later year."""
    pop = population
    if "indicateur" in pop.columns:
        pop = pop[pop["indicateur"] == "population"]
    pop = pop[pop["valeur"].notna() & pop["annee"].notna()]
    weights = pd.Series(float("nan"), index=frame.index)
    if pop.empty:
        return weights
    pop = pd.DataFrame(
        {
            "code_commune_source": pop["code_commune_source"].astype(str),
            "_an": pop["annee"].astype(int),
            "_w": pop["valeur"].astype(float),
        }
    ).drop_duplicates(["code_commune_source", "_an"]).sort_values("_an")
    rows = pd.DataFrame(
        {
            "code_commune_source": frame["code_commune_source"].astype(str).to_numpy(),
            "_an": frame["annee"].fillna(0).astype(int).to_numpy(),
            "_pos": range(len(frame)),
        }
    ).sort_values("_an")
    for direction in ("backward", "forward"):
        found = pd.merge_asof(rows, pop, on="_an", by="code_commune_source", direction=direction)
        found = found.set_index("_pos")["_w"].sort_index()
        weights = weights.fillna(pd.Series(found.to_numpy(), index=frame.index))
    return weights


def _merge_parts(merged: pd.DataFrame, additive: pd.Series) -> pd.DataFrame:
    """One row per (code_reference, indicateur, annee): summed or weighted parts, worst flag."""
    parts = merged.assign(
        _v=merged["valeur"].astype("float64"),
        _na=merged["valeur"].isna() | merged["_manque"],
        _rang=merged["qualite"].map(_RANK),
        _add=additive.to_numpy(),
        _wna=merged["_poids"].isna(),
        _vw=merged["valeur"].astype("float64") * merged["_poids"],
    )
    out = parts.groupby(["code_reference", "indicateur", "annee"], dropna=False).agg(
        n=("_v", "size"),
        na=("_na", "any"),
        rang=("_rang", "max"),
        add=("_add", "first"),
        total=("_v", "sum"),
        mean=("_v", "mean"),
        vw=("_vw", "sum"),
        w=("_poids", "sum"),
        wna=("_wna", "any"),
        line=("ligne_source", "first"),
    )
    averaged = (out["n"] > 1) & ~out["add"]
    unweighted = averaged & (out["wna"] | (out["w"] <= 0))
    if unweighted.any():
        log.warning("%d communes fusionnées sans poids de population : moyenne simple", unweighted.sum())
    valeur = out["total"].where(~averaged, (out["vw"] / out["w"]).where(~unweighted, out["mean"]))
    rang = out["rang"].where(~averaged, out["rang"].clip(lower=_RANK[DERIVE]))
    rang = rang.where(~out["na"], rang.clip(lower=_RANK[NON_PUBLIE]))
    return pd.DataFrame(
        {
            "code_commune_source": out.index.get_level_values("code_reference"),
            "cog_annee": REFERENCE_COG,
            "indicateur": out.index.get_level_values("indicateur"),
            "annee": out.index.get_level_values("annee"),
            "valeur": valeur.where(~out["na"]).to_numpy(),
            "qualite": rang.map(lambda r: QUALITES[int(r)]).to_numpy(),
            "ligne_source": out["line"].where(out["n"] == 1).to_numpy(),
        }
    )


def _missing_parts(frame: pd.DataFrame, mapping: pd.DataFrame, expected: Collection[str]) -> pd.DataFrame:
    """(code_reference, indicateur, annee) keys of which an expected source code has no row."""
    parts = mapping[mapping["code_source"].isin(set(expected))]
    keys = frame[["code_reference", "indicateur", "annee"]].drop_duplicates()
    wanted = keys.merge(parts, on="code_reference")
    present = frame[["code_commune_source", "indicateur", "annee"]]
    present = present.rename(columns={"code_commune_source": "code_source"})
    wanted = wanted.merge(present.assign(_ok=True), on=["code_source", "indicateur", "annee"], how="left")
    return wanted[wanted["_ok"].isna()][["code_reference", "indicateur", "annee"]].drop_duplicates()


def to_reference_cog(
    frame: pd.DataFrame,
    mapping: pd.DataFrame,
    population: pd.DataFrame,
    *,
    expected_codes: Collection[str] | None = None,
    units: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Map ``code_commune_source`` to the COG 2026 code and merge the parts of each commune.

    ``mapping``: columns ``code_source, code_reference``, one row per ``code_source``
    (``electio.harmonise.geography``). ``population``: long rows of ``population`` in the
    frame's geography, used as weights. Counts (units ``habitants``, ``nombre``, ``km²``) are
    summed; rates, shares and medians are population-weighted (a weighted mean of medians is
    only an approximation) and flagged at least ``derive`` when several parts merge. The flag
    is the worst of the parts; any NA part gives NA. With ``expected_codes`` (the codes of
    the frame's COG), a commune missing one of its expected parts gets NA ``non_publie``.
    Codes absent from the mapping are dropped (logged). Input keys must be unique.
    """
    frame = finalize(frame)
    if frame.duplicated(["code_commune_source", "indicateur", "annee"]).any():
        message = "plusieurs lignes par commune, indicateur et année : une source à la fois"
        raise InputError("tableau d'indicateurs", message)
    units = indicator_units() if units is None else units
    unknown = sorted(set(frame["indicateur"]) - set(units))
    if unknown:
        raise InputError(INDICATORS_FILE, f"indicateurs absents du référentiel : {', '.join(unknown)}")
    mapping = _check_mapping(mapping)
    merged = frame.merge(mapping, left_on="code_commune_source", right_on="code_source", how="left")
    unmapped = merged["code_reference"].isna()
    if unmapped.any():
        first = merged.loc[unmapped, "code_commune_source"].iloc[0]
        log.warning("%d lignes sans code de référence écartées (%s…)", unmapped.sum(), first)
        merged = merged[~unmapped].reset_index(drop=True)
    merged["_poids"] = _weights(merged, population)
    merged["_manque"] = False
    if expected_codes is not None:
        missing = _missing_parts(merged, mapping, expected_codes)
        flagged = merged.merge(missing.assign(_m=True), on=["code_reference", "indicateur", "annee"], how="left")
        merged["_manque"] = flagged["_m"].fillna(False).astype(bool).to_numpy()
    additive = merged["indicateur"].map(lambda code: units[code] in ADDITIVE_UNITS)
    return finalize(_merge_parts(merged, additive))
