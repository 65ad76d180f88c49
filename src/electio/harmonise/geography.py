"""Geography referential (COG 2026) and harmonisation of commune codes to it.

The reference geography is the COG 2026 (``@etalab/decoupage-administratif`` 6.0.0).
``build_commune_mapping`` maps every commune code that existed in a COG year 2008..2026
(COGugaison yearly lists 2008..2024, the 2024 Etalab file for the COM, the 2026 file),
plus the arrondissements municipaux and the communes déléguées/associées of 2026, to one
2026 ``commune-actuelle`` code (many-to-one, so counts can be summed).

Method: the COGugaison passage tables (``PASSAGE_<y>_<y+1>``, standard variant, not
``_insee``) are composed year by year up to 2024; the step 2024 → 2026 comes from the
Etalab files: a 2024 code gone in 2026 goes to the commune whose déléguée/associée it is
(``chefLieu``), else to the one listing it in ``anciensCodes``; a 2026 code absent in 2024
is a commune restored from the 2024 commune that listed it. A code is read with its
*latest meaning*: the last uninterrupted run of COG years in which it exists.
``annee_modification`` is the first COG millésime showing the last change (changes between
the 2024 and 2026 files are dated 2026, i.e. COG 2025 or 2026). A code whose territory went
to several 2026 communes (défusion) keeps its own code when it still exists in 2026, else
goes to the commune holding it as déléguée/ancien code, else to the part with the largest
population (passage-table ratio; the 2024 and 2025/2026 défusions have no real ratio, the
2026 population decides); ``methode`` is then ``scission`` and ``detail`` names the other
parts. ``audit_commune_mapping`` lists the splits and the conflicts below.

Conflicts in the 2008..2026 data (a code read differently over the years; the latest
meaning decides). Codes restored by a défusion after a fusion (14666 in 2020, 76095 in
2014, 60694, 85165, 85212 in 2024; 15031, 15035, 15047, 15171 in 2025/2026) map to
themselves. Old commune codes reused for a commune nouvelle that contains them (12218,
14581, 49126, 69114 in 2025/2026; 27058 Bernières-sur-Seine 2008-2016 then Les Trois Lacs
2021-2022; 27676) end in the same 2026 commune either way. 60054 was Beaumont-les-Nonains
until 2018 and since 2024 but Les Hauts-Talican (Beaumont + 60455 + 60694) in 2019-2023:
it maps to 60054 (``scission``) although 60694 holds 62 % of the 2019-2023 population. The
2024 and 2026 files disagree with themselves on 60455 La Neuville-Garnier (déléguée of
60694, in the ``anciensCodes`` of 60054) and 55273 (associée of 55386, ``anciensCodes`` of
55245): the ``chefLieu`` wins, as the populations confirm. ``anciensCodes`` entries that
were no commune in 2008..2026 and are no déléguée/associée (e.g. 75059) are not mapped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadr

from electio.config import REFERENCE_COG
from electio.errors import InputError

GEO_SOURCES = {
    "communes": "cog__decoupage_administratif_6_0_0_communes",
    "departements": "cog__decoupage_administratif_6_0_0_departements",
    "regions": "cog__decoupage_administratif_6_0_0_regions",
    "communes_2024": "cog__decoupage_administratif_4_1_0_communes",
    "passage": "cog_history__cogugaison_tables_passage",
    "cog_history": "cog_history__cogugaison_cog",
}
"""Catalogue ids of the geography referentials the ETL reads (COG 2026, 2024, COGugaison history)."""
FIRST_HISTORY_YEAR = 2008
METHODES = (
    "identite",
    "fusion",
    "changement_code",
    "arrondissement_municipal",
    "commune_deleguee",
    "commune_associee",
    "scission",
)
UNKNOWN = "inconnu"
MAPPING_COLUMNS = ["code_source", "code_reference", "methode", "annee_modification", "detail"]
_MAPPING_DTYPES = {
    "code_source": "string",
    "code_reference": "string",
    "methode": "string",
    "annee_modification": "Int64",
    "detail": "string",
}
COMMUNE_COLUMNS = [
    "code_commune",
    "nom_commune",
    "code_departement",
    "nom_departement",
    "code_region",
    "nom_region",
    "zone",
    "population",
]

ACTUELLE = "commune-actuelle"
DELEGUEE = "commune-deleguee"
ASSOCIEE = "commune-associee"
ARRONDISSEMENT = "arrondissement-municipal"
_SUB_METHODE = {
    DELEGUEE: "commune_deleguee",
    ASSOCIEE: "commune_associee",
    ARRONDISSEMENT: "arrondissement_municipal",
}
_SUB_LABEL = {
    DELEGUEE: "commune déléguée de",
    ASSOCIEE: "commune associée de",
    ARRONDISSEMENT: "arrondissement municipal de",
}
_COMMUNE_KEYS = ["code", "nom", "type"]
_OPTIONAL_KEYS = ["departement", "region", "zone", "population", "anciensCodes", "chefLieu", "commune"]
_PATH_COLUMNS = ["code", "code_reference", "w", "ev", "last_year", "has_f", "has_c", "has_d", "d_year"]
_HISTORY = "historique COG (COGugaison)"


# --- Etalab JSON files -------------------------------------------------------------------


def _read_json_array(path: Path, required: list[str]) -> pd.DataFrame:
    """A JSON array of objects as a frame of its keys (all present as columns)."""
    try:
        with open(path, encoding="utf-8") as handle:
            records = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, f"fichier JSON illisible ({exc})") from exc
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise InputError(path, "un tableau JSON d'objets est attendu")
    frame = pd.DataFrame.from_records(records)
    missing = [key for key in required if key not in frame.columns]
    if missing:
        raise InputError(path, f"clés manquantes : {', '.join(missing)}")
    return frame


def read_communes_json(path: Path) -> pd.DataFrame:
    """Etalab ``communes.json``: every row (all types), optional keys filled with NA."""
    return _read_communes_json(path).copy()


@lru_cache(maxsize=2)
def _read_communes_json(path: Path) -> pd.DataFrame:
    """:func:`read_communes_json`, cached (the ETL reads the 2026 file twice; raw files are immutable)."""
    frame = _read_json_array(path, _COMMUNE_KEYS)
    for key in _OPTIONAL_KEYS:
        if key not in frame.columns:
            frame[key] = None
    frame = frame[_COMMUNE_KEYS + _OPTIONAL_KEYS].copy()
    for key in ["code", "nom", "type", "departement", "region", "zone", "chefLieu", "commune"]:
        frame[key] = frame[key].astype("string")
    frame["population"] = pd.to_numeric(frame["population"], errors="coerce").round().astype("Int64")
    return frame


def load_departements(departements_json: Path) -> pd.DataFrame:
    """Départements of the COG: ``code_departement, nom_departement, code_region``."""
    frame = _read_json_array(departements_json, ["code", "nom", "region"])
    out = frame[["code", "nom", "region"]].astype("string")
    out.columns = ["code_departement", "nom_departement", "code_region"]
    return out.sort_values("code_departement", ignore_index=True)


def load_regions(regions_json: Path) -> pd.DataFrame:
    """Régions of the COG: ``code_region, nom_region``."""
    frame = _read_json_array(regions_json, ["code", "nom"])
    out = frame[["code", "nom"]].astype("string")
    out.columns = ["code_region", "nom_region"]
    return out.sort_values("code_region", ignore_index=True)


def load_reference_communes(
    communes_json: Path, departements_json: Path, regions_json: Path
) -> pd.DataFrame:
    """One row per ``commune-actuelle`` of the reference COG, with département and région names."""
    communes = read_communes_json(communes_json)
    actual = communes[communes["type"] == ACTUELLE]
    duplicated = actual.loc[actual["code"].duplicated(), "code"]
    if not duplicated.empty:
        raise InputError(communes_json, f"codes commune en double : {', '.join(duplicated[:10])}")
    frame = pd.DataFrame(
        {
            "code_commune": actual["code"],
            "nom_commune": actual["nom"],
            "code_departement": actual["departement"],
            "code_region": actual["region"],
            "zone": actual["zone"],
            "population": actual["population"],
        }
    )
    departements = load_departements(departements_json)[["code_departement", "nom_departement"]]
    regions = load_regions(regions_json)
    frame = frame.merge(departements, on="code_departement", how="left", validate="many_to_one")
    frame = frame.merge(regions, on="code_region", how="left", validate="many_to_one")
    unknown = frame.loc[frame["nom_departement"].isna(), "code_departement"].dropna().unique()
    if len(unknown):
        raise InputError(communes_json, f"départements inconnus : {', '.join(map(str, unknown[:10]))}")
    return frame[COMMUNE_COLUMNS].sort_values("code_commune", ignore_index=True)


# --- COGugaison history ----------------------------------------------------------------


def _read_rdata(path: Path, names: list[str]) -> dict[str, pd.DataFrame]:
    """The named data.frames of an .RData file (absent names are left out)."""
    if not names:
        return {}
    try:
        return dict(pyreadr.read_r(str(path), use_objects=names))
    except (OSError, pyreadr.PyreadrError, pyreadr.LibrdataError) as exc:
        raise InputError(path, f"fichier RData illisible ({exc})") from exc


def read_cog_population(cog_rdata: Path, tables: Mapping[str, int]) -> pd.DataFrame:
    """``code, cog_annee, population`` from the ``POP`` column of COGugaison tables (name → COG year)."""
    raw = _read_rdata(cog_rdata, list(tables))
    parts = []
    for name, year in tables.items():
        if name not in raw:
            raise InputError(cog_rdata, f"table {name} absente")
        _require(cog_rdata, raw[name], name, ["CODGEO", "POP"])
        frame = raw[name]
        parts.append(pd.DataFrame({"code": frame["CODGEO"].astype("string"), "cog_annee": year,
                                   "population": pd.to_numeric(frame["POP"], errors="coerce")}))
    return pd.concat(parts, ignore_index=True).dropna(subset=["population"])


def _require(path: Path, frame: pd.DataFrame, name: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(path, f"table {name} : colonnes manquantes {', '.join(missing)}")


def _fix_text(text: str) -> str:
    for encoding in ("cp1252", "latin-1"):
        try:
            return text.encode(encoding).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return text


def repair_mojibake(names: pd.Series) -> pd.Series:
    """UTF-8 names that were decoded as Latin-1 (``ClÃ©menciat``, COGugaison COG2023) put right."""
    broken = names.str.contains("Ã|Â|Å|â€", regex=True, na=False)
    return names.where(~broken, names[broken].map(_fix_text))


@lru_cache(maxsize=1)
def read_cog_history(
    passage_rdata: Path, cog_rdata: Path, last_year: int = REFERENCE_COG - 1
) -> tuple[dict[int, pd.DataFrame], dict[int, pd.DataFrame]]:
    """COGugaison lists ``{year: (code, nom)}`` from 2008 and passages ``{year: (source, cible, typemodif, ratio)}``.

    The passage of key ``y`` goes from year ``y`` to the next listed year. The last result is
    cached (the ETL asks twice; the raw files are immutable): callers must not modify it.
    """
    raw = _read_rdata(cog_rdata, [f"COG{y}" for y in range(FIRST_HISTORY_YEAR, last_year + 1)])
    if not raw:
        raise InputError(cog_rdata, f"aucune table COG{FIRST_HISTORY_YEAR}..COG{last_year}")
    cogs: dict[int, pd.DataFrame] = {}
    for name, frame in raw.items():
        _require(cog_rdata, frame, name, ["CODGEO", "LIBGEO"])
        cogs[int(name[3:])] = pd.DataFrame(
            {"code": frame["CODGEO"].astype("string"), "nom": repair_mojibake(frame["LIBGEO"].astype("string"))}
        )
    years = sorted(cogs)
    pairs = list(zip(years, years[1:]))
    tables = _read_rdata(passage_rdata, [f"PASSAGE_{a}_{b}" for a, b in pairs])
    passages: dict[int, pd.DataFrame] = {}
    for a, b in pairs:
        name = f"PASSAGE_{a}_{b}"
        if name not in tables:
            raise InputError(passage_rdata, f"table {name} absente")
        frame = tables[name]
        _require(passage_rdata, frame, name, [f"cod{a}", f"cod{b}", "typemodif", "ratio"])
        passages[a] = pd.DataFrame(
            {
                "source": frame[f"cod{a}"].astype("string"),
                "cible": frame[f"cod{b}"].astype("string"),
                "typemodif": frame["typemodif"].astype("string"),
                "ratio": pd.to_numeric(frame["ratio"], errors="coerce").astype(float),
            }
        )
    return cogs, passages


# --- Path composition ------------------------------------------------------------------


@dataclass(frozen=True)
class _Reference:
    """What the reference (2026) file says: communes, their old codes, sub-communal codes."""

    actual: pd.DataFrame  # code, nom, population
    owner: pd.DataFrame  # ancien code -> parent: current commune holding it, source: how it is known
    subs: pd.DataFrame  # code, type, parent (déléguées, associées, arrondissements)

    @property
    def names(self) -> pd.Series:
        return self.actual.set_index("code")["nom"]

    @property
    def population(self) -> pd.Series:
        return self.actual.set_index("code")["population"].astype(float)


def _former_codes(communes: pd.DataFrame) -> pd.Series:
    """``anciensCodes`` of the ``commune-actuelle`` rows: old code -> current code."""
    actual = communes.loc[communes["type"] == ACTUELLE, ["code", "anciensCodes"]]
    actual = actual[actual["anciensCodes"].map(lambda v: isinstance(v, list) and len(v) > 0)]
    exploded = actual.explode("anciensCodes")
    former = pd.Series(exploded["code"].to_numpy(), index=exploded["anciensCodes"].to_numpy(), dtype=object)
    return former[~former.index.duplicated(keep="first")]


def _owners(communes: pd.DataFrame) -> pd.DataFrame:
    """Old code -> current commune: the ``chefLieu`` of a déléguée/associée, else ``anciensCodes``.

    The two disagree for 55273 and 60455 in the 2024 and 2026 files; the ``chefLieu`` is
    the one consistent with the populations (60455 La Neuville-Garnier is in 60694).
    """
    subs = communes[communes["type"].isin([DELEGUEE, ASSOCIEE])].drop_duplicates("code")
    by_sub = pd.DataFrame(
        {"parent": subs["chefLieu"].astype(object).to_numpy(), "source": subs["type"].map(_SUB_LABEL).to_numpy()},
        index=subs["code"].astype(object).to_numpy(),
    )
    former = _former_codes(communes)
    by_former = pd.DataFrame(
        {"parent": former.to_numpy(), "source": "ancien code listé dans les anciensCodes de"}, index=former.index
    )
    owners = pd.concat([by_sub.dropna(subset=["parent"]), by_former[~by_former.index.isin(by_sub.index)]])
    return owners[owners.index != owners["parent"]]


def _reference(communes: pd.DataFrame) -> _Reference:
    actual = communes.loc[communes["type"] == ACTUELLE, ["code", "nom", "population"]].astype({"code": object})
    if actual["code"].duplicated().any():
        raise InputError("COG de référence", "codes commune-actuelle en double")
    subs = communes[communes["type"].isin(list(_SUB_METHODE))].copy()
    subs["parent"] = subs["chefLieu"].fillna(subs["commune"])
    return _Reference(actual.reset_index(drop=True), _owners(communes), subs[["code", "type", "parent"]])


def _identity_paths(codes: pd.Series) -> pd.DataFrame:
    """Paths from each code to itself, with no event."""
    codes = pd.unique(codes.astype(object).to_numpy())
    n = len(codes)
    return pd.DataFrame(
        {
            "code": codes,
            "code_reference": codes,
            "w": np.ones(n),
            "ev": np.full(n, "", dtype=object),
            "last_year": np.full(n, np.nan),
            "has_f": np.zeros(n, dtype=bool),
            "has_c": np.zeros(n, dtype=bool),
            "has_d": np.zeros(n, dtype=bool),
            "d_year": np.full(n, np.nan),
        }
    )


def _step_paths(
    step: pd.DataFrame, year: int, label: str, names: pd.Series, population: pd.Series
) -> pd.DataFrame:
    """One-hop paths of a step ``source → cible`` (identities included), classified f/c/d."""
    step = step.astype({"source": object, "cible": object}).drop_duplicates(["source", "cible"])
    step = step.reset_index(drop=True)
    n_targets = step.groupby("source", sort=False)["cible"].transform("nunique")
    n_sources = step.groupby("cible", sort=False)["source"].transform("nunique")
    same = step["source"] == step["cible"]
    kind = np.select([n_targets > 1, same, n_sources > 1], ["d", "", "f"], default="c").astype(object)
    ratio = step["ratio"].astype(float)
    grouped = ratio.groupby(step["source"], sort=False)
    spread = (grouped.transform("max") - grouped.transform("min")).where(grouped.transform("count") == n_targets)
    flat = (kind == "d") & ~(spread > 1e-9)
    weight = ratio.where(~flat, step["cible"].map(population).astype(float)).fillna(0.0)
    total = weight.groupby(step["source"], sort=False).transform("sum")
    weight = (weight / total).where(total > 0, 1.0 / n_targets).where(kind == "d", 1.0)
    changed = kind != ""
    events = pd.Series("", index=step.index, dtype=object)
    if changed.any():
        moved = step[changed]
        target = (moved["cible"] + " " + moved["cible"].map(names).fillna("").astype(object)).str.strip()
        text = pd.Series(kind[changed], index=moved.index).map(
            {"f": "fusion dans ", "c": "changement de code en ", "d": f"scission ({label}), part vers "}
        )
        suffix = np.where(kind[changed] == "d", "", f" ({label})")
        events[changed] = text + target + suffix
    return pd.DataFrame(
        {
            "code": step["source"],
            "code_reference": step["cible"],
            "w": weight.astype(float),
            "ev": events,
            "last_year": np.where(changed, float(year), np.nan),
            "has_f": kind == "f",
            "has_c": kind == "c",
            "has_d": kind == "d",
            "d_year": np.where(kind == "d", float(year), np.nan),
        }
    )


def _compose(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """Paths of ``first`` followed by those of ``second`` (``first.code_reference == second.code``).

    Extra key columns of ``first`` (``annee_cog``) are carried through.
    """
    extra = [c for c in first.columns if c not in _PATH_COLUMNS]
    lost = ~first["code_reference"].isin(second["code"])
    if lost.any():
        sample = ", ".join(sorted(set(first.loc[lost, "code_reference"]))[:10])
        raise InputError(_HISTORY, f"codes sans suite dans l'année suivante : {sample}")
    joined = first.merge(second, left_on="code_reference", right_on="code", suffixes=("", "_2"))
    ev1, ev2 = joined["ev"], joined["ev_2"]
    both = (ev1 != "") & (ev2 != "")
    ev = ev1.where(ev2 == "", ev2.where(ev1 == "", ev1 + " ; " + ev2)) if both.any() else ev1.where(ev2 == "", ev2)
    out = joined[extra].assign(
        code=joined["code"],
        code_reference=joined["code_reference_2"],
        w=joined["w"] * joined["w_2"],
        ev=ev,
        last_year=joined["last_year_2"].fillna(joined["last_year"]),
        has_f=joined["has_f"] | joined["has_f_2"],
        has_c=joined["has_c"] | joined["has_c_2"],
        has_d=joined["has_d"] | joined["has_d_2"],
        d_year=joined["d_year_2"].fillna(joined["d_year"]),
    )
    return _collapse(out, extra)


def _collapse(paths: pd.DataFrame, extra: list[str]) -> pd.DataFrame:
    """One row per (code, code_reference): weights summed, the heaviest path's history kept."""
    keys = extra + ["code", "code_reference"]
    duplicated = paths.duplicated(keys, keep=False)
    if not duplicated.any():
        return paths.reset_index(drop=True)
    ordered = paths.sort_values("w", ascending=False, kind="stable")
    first = ordered.drop_duplicates(keys).set_index(keys)
    first["w"] = ordered.groupby(keys, sort=False)["w"].sum()
    return first.reset_index()[extra + _PATH_COLUMNS]


def _passage_step(passage: pd.DataFrame, codes: pd.Series) -> pd.DataFrame:
    """Passage rows plus an identity row for every listed code the table does not mention."""
    unchanged = codes[~codes.isin(passage["source"])]
    identity = pd.DataFrame({"source": unchanged, "cible": unchanged, "typemodif": "", "ratio": 1.0})
    return pd.concat([passage, identity], ignore_index=True)


def _bridge_step(
    codes: pd.Series, ref: _Reference, bridge: pd.DataFrame | None, upstream: pd.DataFrame
) -> pd.DataFrame:
    """Step from the last COGugaison year to the reference COG, from the Etalab files.

    ``upstream``: paths (with ``annee_cog``) from earlier years to the last year, used to
    find the parent of a restored commune when the last year's file is not given.
    """
    actual = ref.actual["code"].astype(object)
    codes = pd.Series(pd.unique(codes.astype(object).to_numpy()), dtype=object)
    kept = codes[codes.isin(actual)]
    gone = codes[~codes.isin(actual)]
    owner = gone.map(ref.owner["parent"])
    if owner.isna().any():
        raise InputError(
            _HISTORY, f"codes absents du COG {REFERENCE_COG} sans successeur : {', '.join(gone[owner.isna()][:10])}"
        )
    rows = [
        pd.DataFrame({"source": kept, "cible": kept}),
        pd.DataFrame({"source": gone, "cible": owner}),
    ]
    new = actual[~actual.isin(codes) & ~actual.isin(owner)]
    parents = pd.Series(None, index=new.index, dtype=object)
    if bridge is not None:
        listed = bridge[bridge["type"] == ACTUELLE]
        parents = parents.fillna(new.map(_owners(bridge)["parent"]))
        parents = parents.where(parents.isin(listed["code"]))
    history = upstream[upstream["code"].isin(new)].sort_values(["annee_cog", "w"], ascending=False)
    history = history.drop_duplicates("code").set_index("code")["code_reference"]
    parents = parents.fillna(new.map(history)).where(lambda p: p.isin(codes))
    restored = parents.notna()
    rows.append(pd.DataFrame({"source": parents[restored], "cible": new[restored]}))
    step = pd.concat(rows, ignore_index=True).astype(object)
    step["typemodif"] = ""
    step["ratio"] = np.nan
    return step


def _period_label(last: int, reference: int) -> str:
    """How a change seen between two files ``last`` → ``reference`` is dated in ``detail``."""
    if reference - last <= 1:
        return str(reference)
    if reference - last == 2:
        return f"{last + 1} ou {reference}"
    return f"{last + 1}-{reference}"


def _history_paths(
    communes: pd.DataFrame,
    cogs: Mapping[int, pd.DataFrame],
    passages: Mapping[int, pd.DataFrame],
    bridge: pd.DataFrame | None,
) -> tuple[pd.DataFrame, _Reference]:
    """All paths ``(annee_cog, code) → 2026 code`` with weights and the events met on the way."""
    ref = _reference(communes)
    years = sorted(cogs)
    last = years[-1]
    population = ref.population
    if bridge is not None:
        population = population.combine_first(
            bridge[bridge["type"] == ACTUELLE].drop_duplicates("code").set_index("code")["population"].astype(float)
        )
    last_codes = cogs[last]["code"]
    last_names = cogs[last].set_index("code")["nom"]
    if bridge is not None:
        listed = bridge[bridge["type"] == ACTUELLE]
        last_codes = pd.concat([last_codes, listed["code"]]).drop_duplicates()
        last_names = last_names.combine_first(listed.set_index("code")["nom"])
    last_names = last_names[~last_names.index.duplicated()]
    upstream = {last: _identity_paths(last_codes)}
    for year, following in zip(reversed(years[:-1]), reversed(years[1:])):
        if year not in passages:
            raise InputError(_HISTORY, f"table de passage {year} → {following} absente")
        names = last_names if following == last else cogs[following].set_index("code")["nom"]
        step = _passage_step(passages[year], cogs[year]["code"])
        hop = _step_paths(step, following, str(following), names, population)
        upstream[year] = _compose(hop, upstream[following])
    stacked = pd.concat([p.assign(annee_cog=y) for y, p in upstream.items()], ignore_index=True)
    label = _period_label(last, REFERENCE_COG)
    bridge_step = _bridge_step(last_codes, ref, bridge, stacked)
    hop = _step_paths(bridge_step, REFERENCE_COG, label, ref.names, ref.population)
    current = _identity_paths(ref.actual["code"]).assign(annee_cog=REFERENCE_COG)
    paths = pd.concat([current, _compose(stacked, hop)], ignore_index=True)
    return paths[["annee_cog"] + _PATH_COLUMNS], ref


# --- Resolution: one row per code ------------------------------------------------------


def _runs(paths: pd.DataFrame) -> pd.DataFrame:
    """``code, annee_cog, run, last_run``: runs of consecutive COG years in which a code exists."""
    years = np.sort(paths["annee_cog"].unique())
    seen = paths[["code", "annee_cog"]].drop_duplicates()
    code_id = pd.factorize(seen["code"])[0]
    position = np.searchsorted(years, seen["annee_cog"].to_numpy())
    order = np.lexsort((position, code_id))
    code_id, position = code_id[order], position[order]
    starts = np.r_[True, (code_id[1:] != code_id[:-1]) | (np.diff(position) != 1)]
    run = np.cumsum(starts)
    last_run = pd.Series(run).groupby(code_id, sort=False).transform("max").to_numpy()
    first_run = pd.Series(run).groupby(code_id, sort=False).transform("min").to_numpy()
    return seen.iloc[order].assign(run=run - first_run + 1, last_run=last_run - first_run + 1)


def _latest_run(paths: pd.DataFrame) -> pd.DataFrame:
    """Paths restricted to each code's last uninterrupted run of COG years."""
    runs = _runs(paths)
    latest = runs.loc[runs["run"] == runs["last_run"], ["code", "annee_cog"]]
    return paths.merge(latest, on=["code", "annee_cog"])


def _names_list(codes: list[str], names: pd.Series) -> str:
    return ", ".join(f"{c} {names.get(c, '')}".strip() for c in codes)


def _split_detail(row: pd.Series, names: pd.Series) -> str:
    """``detail`` of a ``scission`` row (``code_reference, share, split_year, parts, is_actual``)."""
    when = "" if pd.isna(row["split_year"]) else f" ({int(row['split_year'])})"
    how = "code conservé par" if row["is_actual"] else "rattaché à la part la plus peuplée,"
    kept = _names_list([row["code_reference"]], names)
    others = _names_list([p for p in row["parts"] if p != row["code_reference"]], names)
    return f"scission{when} : {how} {kept}, {row['share']:.0%} de la population ; autres parties : {others}"


def _resolve(paths: pd.DataFrame, ref: _Reference) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The mapping of every historical code, and the codes met by a split (``scissions``)."""
    names = ref.names
    latest = _latest_run(paths)
    latest["n"] = latest.groupby(["code", "annee_cog"], sort=False)["code_reference"].transform("size")
    final_year = latest.groupby("code", sort=False)["annee_cog"].transform("max")
    at_end = latest[latest["annee_cog"] == final_year].copy()

    at_end["is_actual"] = at_end["code"].isin(ref.actual["code"])
    at_end["is_self"] = at_end["code"] == at_end["code_reference"]
    at_end["is_owned"] = at_end["code"].map(ref.owner["parent"]) == at_end["code_reference"]
    at_end["pop"] = at_end["code_reference"].map(ref.population).fillna(-1.0)
    at_end = at_end[~at_end["is_actual"] | at_end["is_self"]]
    chosen = at_end.sort_values(
        ["code", "is_self", "is_owned", "w", "pop"], ascending=[True, False, False, False, False]
    ).drop_duplicates("code")
    chosen = chosen.set_index("code")

    split_rows = latest[latest["n"] > 1]
    chosen["parts"] = split_rows.groupby("code", sort=False)["code_reference"].agg(lambda s: sorted(set(s)))
    chosen["split_year"] = split_rows.groupby("code", sort=False)["d_year"].max()
    share = split_rows.groupby(["code", "code_reference"], sort=False)["w"].max()
    keys = pd.MultiIndex.from_arrays([chosen.index, chosen["code_reference"]])
    chosen["share"] = share.reindex(keys).to_numpy()
    has_split = chosen["parts"].notna()
    actual, owned, at_split = chosen["is_actual"], chosen["is_owned"], chosen["n"] > 1
    scission = has_split & (actual | (at_split & ~owned))
    chosen["methode"] = np.select(
        [scission, actual, chosen["has_f"], chosen["has_c"]],
        ["scission", "identite", "fusion", "changement_code"],
        default="fusion",
    )

    detail = chosen["ev"].astype(object).copy()
    detail[chosen["methode"] == "identite"] = f"code inchangé (COG {REFERENCE_COG})"
    how = chosen.index.to_series().map(ref.owner["source"])
    target = chosen["code_reference"]
    owner_note = " ; territoire rattaché à " + target + " (" + how + " " + target + f", COG {REFERENCE_COG})"
    resolved = has_split & at_split & owned & ~actual
    detail[resolved] = detail[resolved] + owner_note[resolved]
    earlier = has_split & ~at_split & ~actual
    for code in chosen.index[earlier]:
        others = [p for p in chosen.at[code, "parts"] if p != chosen.at[code, "code_reference"]]
        year = chosen.at[code, "split_year"]
        when = "" if pd.isna(year) else f" de {int(year)}"
        detail[code] += f" ; avant la scission{when}, son territoire comprenait aussi {_names_list(others, names)}"
    for code in chosen.index[scission]:
        detail[code] = _split_detail(chosen.loc[code], names)
    annee = chosen["last_year"].where(~scission, chosen["split_year"]).where(~(actual & ~scission))
    mapping = pd.DataFrame(
        {
            "code_source": chosen.index.to_numpy(),
            "code_reference": chosen["code_reference"].to_numpy(),
            "methode": chosen["methode"].to_numpy(),
            "annee_modification": annee.astype("Int64").array,
            "detail": detail.to_numpy(),
        }
    )
    splits = chosen.loc[has_split, ["code_reference", "methode", "parts", "share", "split_year"]].reset_index()
    splits["parts"] = splits["parts"].map(", ".join)
    splits = splits.rename(
        columns={"code": "code_source", "parts": "parties", "share": "part_retenue", "split_year": "annee_scission"}
    )
    return mapping, splits


def _sub_rows(ref: _Reference, names: pd.Series) -> pd.DataFrame:
    """Rows for déléguées, associées and arrondissements municipaux of the reference COG."""
    subs = ref.subs.drop_duplicates("code")
    label = subs["type"].map(_SUB_LABEL) + " " + subs["parent"] + " " + subs["parent"].map(names).fillna("")
    return pd.DataFrame(
        {
            "code_source": subs["code"].astype("string").to_numpy(),
            "code_reference": subs["parent"].astype("string").to_numpy(),
            "methode": subs["type"].map(_SUB_METHODE).astype("string").to_numpy(),
            "annee_modification": pd.array([pd.NA] * len(subs), dtype="Int64"),
            "detail": pd.array(label.str.strip().to_numpy(), dtype="string"),
            "type": subs["type"].to_numpy(),
        }
    )


def mapping_from_frames(
    communes_2026: pd.DataFrame,
    cogs: Mapping[int, pd.DataFrame],
    passages: Mapping[int, pd.DataFrame],
    communes_last: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``build_commune_mapping`` on frames already read (see ``read_communes_json``, ``read_cog_history``)."""
    return _build(communes_2026, cogs, passages, communes_last)[0]


def _build(
    communes_2026: pd.DataFrame,
    cogs: Mapping[int, pd.DataFrame],
    passages: Mapping[int, pd.DataFrame],
    communes_last: pd.DataFrame | None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Mapping, split cases, all history paths and déléguée/associée disagreements."""
    if not cogs:
        raise InputError(_HISTORY, "aucune liste de communes annuelle")
    paths, ref = _history_paths(communes_2026, cogs, passages, communes_last)
    mapping, splits = _resolve(paths, ref)
    subs = _sub_rows(ref, ref.names)
    arrondissements = subs[subs["type"] == ARRONDISSEMENT]
    others = subs[(subs["type"] != ARRONDISSEMENT) & ~subs["code_source"].isin(mapping["code_source"])]
    check = subs[subs["type"] != ARRONDISSEMENT].merge(mapping, on="code_source", suffixes=("_sub", ""))
    disagreements = check.loc[
        check["code_reference_sub"] != check["code_reference"],
        ["code_source", "type", "code_reference_sub", "code_reference", "methode", "detail"],
    ]
    mapping = mapping[~mapping["code_source"].isin(arrondissements["code_source"])]
    mapping = pd.concat([mapping, arrondissements[MAPPING_COLUMNS], others[MAPPING_COLUMNS]], ignore_index=True)
    mapping = mapping.sort_values("code_source", ignore_index=True)[MAPPING_COLUMNS]
    mapping = mapping.astype(_MAPPING_DTYPES)
    return mapping, splits, paths, disagreements.reset_index(drop=True)


def _load_inputs(
    communes_2026_json: Path, passage_rdata: Path, cog_rdata: Path, communes_2024_json: Path | None
) -> tuple[pd.DataFrame, dict[int, pd.DataFrame], dict[int, pd.DataFrame], pd.DataFrame | None]:
    communes = read_communes_json(communes_2026_json)
    cogs, passages = read_cog_history(passage_rdata, cog_rdata)
    last = read_communes_json(communes_2024_json) if communes_2024_json is not None else None
    return communes, cogs, passages, last


def build_commune_mapping(
    communes_2026_json: Path,
    passage_rdata: Path,
    cog_rdata: Path,
    communes_2024_json: Path | None = None,
) -> pd.DataFrame:
    """Map every commune code of COG 2008..2026 (and 2026 sub-communal codes) to its 2026 commune.

    Columns ``code_source, code_reference, methode, annee_modification, detail``; exactly
    one row per ``code_source``. ``communes_2024_json`` (Etalab file of the last COGugaison
    year) adds the COM and the communes restored after 2024.
    """
    return _build(*_load_inputs(communes_2026_json, passage_rdata, cog_rdata, communes_2024_json))[0]


def audit_commune_mapping(
    communes_2026_json: Path,
    passage_rdata: Path,
    cog_rdata: Path,
    communes_2024_json: Path | None = None,
) -> dict[str, pd.DataFrame]:
    """Cases to review: ``scissions``, ``conflits`` (code read differently over the years), ``delegations``.

    ``conflits``: codes whose 2026 targets differ between the COG years where they exist;
    ``delegations``: déléguées/associées whose ``chefLieu`` differs from the history.
    """
    mapping, splits, paths, disagreements = _build(
        *_load_inputs(communes_2026_json, passage_rdata, cog_rdata, communes_2024_json)
    )
    return {"mapping": mapping, "scissions": splits, "conflits": _conflicts(paths), "delegations": disagreements}


def _conflicts(paths: pd.DataFrame) -> pd.DataFrame:
    """Codes met in several runs of years, or whose 2026 targets differ between years.

    One row per code, run and set of targets: ``code_source, periode, annees, cibles``.
    """
    size = paths.groupby(["code", "annee_cog"], sort=False)["code_reference"].transform("size")
    single = paths.loc[size == 1, ["code", "annee_cog", "code_reference"]]
    several = (
        paths[size > 1]
        .sort_values("code_reference")
        .groupby(["code", "annee_cog"], sort=False)["code_reference"]
        .agg("+".join)
        .reset_index()
    )
    targets = pd.concat([single, several], ignore_index=True).merge(_runs(paths), on=["code", "annee_cog"])
    varying = targets.groupby("code", sort=False)["code_reference"].transform("nunique") > 1
    cases = targets[varying | (targets["last_run"] > 1)]
    spans = cases.groupby(["code", "run", "code_reference"])["annee_cog"].agg(["min", "max"]).reset_index()
    first, last = spans["min"].astype(str), spans["max"].astype(str)
    spans["annees"] = first.where(first == last, first + "-" + last)
    return spans.rename(columns={"code": "code_source", "run": "periode", "code_reference": "cibles"})[
        ["code_source", "periode", "annees", "cibles"]
    ]


# --- Applying the mapping --------------------------------------------------------------


def normalise_codes(codes: pd.Series) -> pd.Series:
    """Codes as 5-character strings: trimmed, a 4-digit code left-padded with ``0``."""
    text = codes.astype("string").str.strip()
    return text.where(~text.str.fullmatch(r"\d{4}").fillna(False), "0" + text)


def map_codes(codes: pd.Series, mapping: pd.DataFrame) -> pd.DataFrame:
    """``code_source, code_reference, methode`` for each input code (same index).

    Codes absent from the mapping get ``code_reference`` NA and ``methode`` ``inconnu``.
    """
    source = normalise_codes(codes)
    lookup = mapping.drop_duplicates("code_source").set_index("code_source")
    out = pd.DataFrame(
        {
            "code_source": source,
            "code_reference": source.map(lookup["code_reference"]).astype("string"),
            "methode": source.map(lookup["methode"]).astype("string"),
        },
        index=codes.index,
    )
    out["methode"] = out["methode"].fillna(UNKNOWN)
    return out
