"""Election ETL: catalogue → fetch → parse → harmonise (COG 2026, blocs) → contracts → warehouse."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from electio import config
from electio.catalogue import Source, get_source
from electio.errors import InputError
from electio.fetch import fetch
from electio.frames import isin
from electio.harmonise import blocs, geography, totals, units
from electio.harmonise.geography import GEO_SOURCES
from electio.harmonise.territory_indicators import NationalViews
from electio.parse.ballot import LOCATION, ParsedBallot
from electio.pipeline.indicators import build_indicators
from electio.pipeline.lineage import Lineage, now
from electio.pipeline.polls import build_polls
from electio.pipeline.units import UnitFrames
from electio.quality import contracts
from electio.referentials import read_referential
from electio.warehouse.store import write_tables

SCRUTINS_CSV = config.REFERENTIALS_DIR / "scrutins.csv"
EXTRA_MAPPING_CSV = config.REFERENTIALS_DIR / "communes_hors_cog.csv"
ABROAD_CODE = "ZZ999"
ABROAD_DEP = "ZZ"
ABROAD_PREFIXES = ("ZZ", "99")  # Ministry code ZZ (2017, 2019); département 99 in 2014
TOTALS = "totaux"
"""``couverture`` of a scrutins.csv row whose source gives France and département totals only
(no commune rows): loaded into the territory totals, whatever the territory."""

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Territory:
    """The area loaded: one département, or all of France when ``departement`` is None."""

    departement: str | None

    @property
    def code(self) -> str:
        return self.departement or "FR"

    def covers(self, couverture: str) -> bool:
        """Whether a source covering ``couverture`` (FR or a département) has commune data here."""
        return couverture != TOTALS and (self.departement is None or couverture in ("FR", self.departement))


@dataclass
class EtlResult:
    """What a run wrote: table row counts, quality results, coverage matrix, lineage id."""

    run_id: str
    warehouse: Path
    counts: dict[str, int]
    checks: list[contracts.CheckResult]
    coverage: pd.DataFrame


def load_scrutins(path: Path = SCRUTINS_CSV, covers: Callable[[str], bool] | None = None) -> pd.DataFrame:
    """The ballots referential, one row per ballot and round (``dim_scrutin``).

    A ballot listed both with commune results and with a totals-only source (couverture
    :data:`TOTALS`) keeps its commune-results row; see :func:`load_total_sources`. ``covers``
    (a territory's coverage test) first drops the commune-results rows outside the territory:
    such a ballot then keeps its totals-only row (pres2022 T1 outside the Rhône).
    """
    frame = _read_scrutins(path)
    communal = frame[frame["couverture"] != TOTALS]
    if covers is not None:
        communal = communal[communal["couverture"].map(covers)]
    only_totals = frame[(frame["couverture"] == TOTALS) & ~frame["scrutin_id"].isin(communal["scrutin_id"])]
    return pd.concat([communal, only_totals]).sort_index().reset_index(drop=True)


def load_total_sources(path: Path = SCRUTINS_CSV) -> pd.DataFrame:
    """Rows of the referential whose source gives France and département totals (couverture ``totaux``)."""
    frame = _read_scrutins(path)
    return frame[frame["couverture"] == TOTALS].reset_index(drop=True)


def _read_scrutins(path: Path) -> pd.DataFrame:
    """Every row of the ballots referential, typed."""
    frame = read_referential(path, ["scrutin_id", "type_scrutin", "annee", "tour", "date_scrutin", "libelle", "source_id", "cog_annee", "couverture"])
    for column in ("annee", "tour", "cog_annee"):
        frame[column] = frame[column].astype(int)
    frame["date_scrutin"] = pd.to_datetime(frame["date_scrutin"]).dt.date
    return frame


def call_parser(source: Source, path: Path, scrutin_id: str) -> ParsedBallot:
    """Dispatch to the parser the catalogue names (``module.function`` under electio.parse)."""
    if not source.parser:
        raise InputError(path, f"aucun analyseur déclaré pour la source {source.id}")
    module_name, _, function = source.parser.rpartition(".")
    module = importlib.import_module(f"electio.parse.{module_name}")
    return getattr(module, function)(path, scrutin_id)


def reference_geography(lineage: Lineage, territory: Territory) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Dimension frames of the territory and the commune-code mapping to COG 2026."""
    paths = {key: lineage.record_input(fetch(get_source(sid))) for key, sid in GEO_SOURCES.items()}
    communes = geography.load_reference_communes(paths["communes"], paths["departements"], paths["regions"])
    departements = geography.load_departements(paths["departements"])
    regions = geography.load_regions(paths["regions"])
    mapping = geography.build_commune_mapping(paths["communes"], paths["passage"], paths["cog_history"], paths["communes_2024"])
    extra = read_referential(EXTRA_MAPPING_CSV, list(mapping.columns))
    extra["annee_modification"] = pd.to_numeric(extra["annee_modification"]).astype("Int64")
    mapping = pd.concat([mapping, extra[~extra["code_source"].isin(mapping["code_source"])]], ignore_index=True)
    communes["type_unite"] = "commune"
    if territory.departement is None:
        departements = pd.concat([departements, pd.DataFrame([{"code_departement": ABROAD_DEP, "nom_departement": "Français établis hors de France", "code_region": None}])])
        abroad = {"code_commune": ABROAD_CODE, "nom_commune": "Français établis hors de France", "code_departement": ABROAD_DEP,
                  "code_region": None, "zone": "etranger", "population": pd.NA, "type_unite": "hors_commune"}
        communes = pd.concat([communes, pd.DataFrame([abroad])], ignore_index=True)
    else:
        communes = communes[communes["code_departement"] == territory.departement]
        if communes.empty:
            raise InputError(paths["communes"], f"département inconnu du COG 2026 : {territory.departement}")
    dims = {
        "dim_region": regions[["code_region", "nom_region"]],
        "dim_departement": departements[["code_departement", "nom_departement", "code_region"]],
        "dim_commune": communes.reset_index(drop=True),
        "map_commune_cog": mapping,
    }
    split = units.territory_units(units.load_units(), dims["dim_commune"])
    dims["dim_unite"] = units.dim_unite(dims["dim_commune"], split, units.arrondissement_populations(paths["communes"]))
    return dims, mapping


def map_ballot(parsed: ParsedBallot, mapping: pd.DataFrame, communes: pd.DataFrame, source_path: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Map a parsed ballot onto the territory's COG 2026 communes: (participation, voix, audit)."""
    part = parsed.participation.copy()
    abroad = part["code_commune_source"].str.startswith(ABROAD_PREFIXES)
    mapped = geography.map_codes(part["code_commune_source"], mapping)
    part["code_commune"] = mapped["code_reference"].to_numpy()
    part["methode"] = mapped["methode"].to_numpy()
    part.loc[abroad, ["code_commune", "methode"]] = [ABROAD_CODE, "etranger"]
    unknown = part[part["code_commune"].isna()]
    if not unknown.empty:
        first = unknown.iloc[0]
        message = f"code commune inconnu du COG : {first['code_commune_source']} ({first['libelle_commune']})"
        if LOCATION in unknown:  # archive of several files: name the file and the row, not a line
            raise InputError(source_path, f"{message}, dans {first[LOCATION]}")
        raise InputError(source_path, message, line=int(first["ligne_source"]))
    part = part[isin(part["code_commune"], communes["code_commune"])]
    code_of = part.set_index("code_commune_source")["code_commune"]
    voix = parsed.voix[isin(parsed.voix["code_commune_source"], code_of.index)].copy()
    voix["code_commune"] = voix["code_commune_source"].map(code_of)
    audit = part.rename(columns={"libelle_commune": "libelle_source"})
    audit["scrutin_id"] = parsed.scrutin_id
    counts = ["inscrits", "votants", "blancs", "nuls", "exprimes"]
    participation = part.groupby("code_commune", as_index=False)[counts].sum(min_count=1)
    participation.insert(0, "scrutin_id", parsed.scrutin_id)
    voix["scrutin_id"] = parsed.scrutin_id
    return participation, voix, audit[["scrutin_id", "code_commune_source", "libelle_source", "code_commune", "methode", "ligne_source"]]


def candidates_and_results(voix: pd.DataFrame, assignments: pd.DataFrame, source_files: dict[str, str],
                           extra: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``dim_candidat`` (with bloc) and ``fact_resultat_commune`` from all ballots' voix rows.

    ``extra`` holds more (scrutin_id, candidat, prenom, nuance) rows that need a candidate
    (those of the territory totals).
    """
    keys = ["scrutin_id", "candidat", "nuance"]
    named = voix[[*keys, "prenom"]] if extra is None else pd.concat([voix[[*keys, "prenom"]], extra[[*keys, "prenom"]]], ignore_index=True)
    distinct = named.groupby(keys, dropna=False, as_index=False).agg(prenom=("prenom", "first"))
    parts = [blocs.assign_blocs(group, assignments, source_files[sid]) for sid, group in distinct.groupby("scrutin_id")]
    dim = pd.concat(parts, ignore_index=True).sort_values(keys, na_position="first").reset_index(drop=True)
    dim.insert(0, "candidat_id", pd.array(range(1, len(dim) + 1), dtype="Int64"))
    facts = voix.merge(dim[["candidat_id", *keys]], on=keys, how="left")
    facts = facts.groupby(["scrutin_id", "code_commune", "candidat_id"], as_index=False)["voix"].sum()
    return dim, facts


def coverage_matrix(participation: pd.DataFrame, communes: pd.DataFrame, scrutins: pd.DataFrame) -> pd.DataFrame:
    """Communes present / expected per ballot and département of the territory."""
    real = communes[communes["type_unite"] == "commune"]
    expected = real.groupby("code_departement").size().rename("communes_attendues")
    present = participation.merge(real[["code_commune", "code_departement"]], on="code_commune")
    present = present.groupby(["scrutin_id", "code_departement"]).size().rename("communes_presentes")
    grid = pd.MultiIndex.from_product([scrutins["scrutin_id"], expected.index], names=["scrutin_id", "code_departement"])
    matrix = present.reindex(grid, fill_value=0).reset_index().merge(expected.reset_index(), on="code_departement")
    matrix["taux"] = matrix["communes_presentes"] / matrix["communes_attendues"]
    return matrix.rename(columns={"code_departement": "territoire"})


def national_totals(parsed: ParsedBallot, mapping: pd.DataFrame) -> totals.ParsedTotals:
    """Département totals of a national commune file, on the COG 2026 codes of all its communes."""
    codes = parsed.participation["code_commune_source"]
    mapped = geography.map_codes(codes, mapping)["code_reference"].to_numpy()
    cog = pd.Series(mapped, index=codes.index, dtype="str").where(~codes.str.startswith(ABROAD_PREFIXES), ABROAD_CODE)
    return totals.from_communes(parsed, cog)


def territory_totals(lineage: Lineage, ballots: list[tuple[pd.DataFrame, pd.DataFrame]], source_files: dict[str, str], say: Progress) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Totals of the national ballots (``ballots``: from commune files) plus the totals-only sources."""
    for row in load_total_sources().itertuples():
        t0 = now()
        say(f"Totaux {row.scrutin_id}")
        source = get_source(row.source_id)
        path = lineage.record_input(fetch(source))
        source_files.setdefault(row.scrutin_id, str(path))
        parsed = call_parser(source, path, row.scrutin_id)
        ballots.append(totals.territory_frames(parsed, source.id, "fichier_departement"))
        lineage.record_step("totaux_territoire", source.id, len(parsed.participation), len(parsed.participation) + 1, 0, t0)
    participation = pd.concat([part for part, _ in ballots], ignore_index=True)
    return participation, pd.concat([voix for _, voix in ballots], ignore_index=True)


def run_etl(territory: Territory, target: Path | None = None, progress: Progress | None = None) -> EtlResult:
    """Build the warehouse for a territory into ``target`` (atomically swapped in)."""
    target = target or config.warehouse_path()
    say = progress or (lambda _msg: None)
    lineage = Lineage(territory.code)

    t0 = now()
    say("Référentiel géographique (COG 2026)")
    dims, mapping = reference_geography(lineage, territory)
    lineage.record_step("harmonise_geographie", None, len(mapping), len(dims["dim_commune"]), 0, t0)

    # Indicators first: their working database is freed before the election frames are built.
    say("Indicateurs locaux")
    below = dims["dim_unite"].loc[dims["dim_unite"]["type_unite"] == "arrondissement", "code_unite"]
    national_views = NationalViews(mapping)
    indicators = build_indicators(lineage, mapping, dims["dim_commune"], say, frozenset(below), national_views)

    dim_bloc = blocs.load_blocs()
    assignments = blocs.load_assignments(blocs.ASSIGNMENTS_CSV, dim_bloc)
    scrutins = load_scrutins(covers=territory.covers)
    communal = scrutins[scrutins["couverture"] != TOTALS]
    from_files = set(load_total_sources()["scrutin_id"])

    parts, voix, audits, source_files, national = [], [], [], {}, []
    unit_frames = UnitFrames(units.territory_units(units.load_units(), dims["dim_commune"]), units.load_bureau_sources())
    for row in communal.itertuples():
        t0 = now()
        say(f"Scrutin {row.scrutin_id}")
        source = get_source(row.source_id)
        path = lineage.record_input(fetch(source))
        source_files[row.scrutin_id] = str(path)
        parsed = call_parser(source, path, row.scrutin_id)
        participation, ballot_voix, audit = map_ballot(parsed, mapping, dims["dim_commune"], path)
        national_views.add_ballot(row.scrutin_id, source.id, parsed.participation["code_commune_source"])
        if row.couverture == "FR" and row.scrutin_id not in from_files:
            national.append(totals.territory_frames(national_totals(parsed, mapping), source.id, "agregation_communes"))
        rejected = len(parsed.participation) - len(audit)
        lineage.record_step("parse_harmonise", source.id, len(parsed.participation), len(participation), rejected, t0)
        unit_frames.add(lineage, parsed, path, call_parser)
        parts.append(participation)
        voix.append(ballot_voix)
        audits.append(audit)
        del parsed
    territory_part, territory_voix = territory_totals(lineage, national, source_files, say)

    t0 = now()
    say("Blocs politiques et faits")
    all_voix = pd.concat(voix, ignore_index=True)
    del voix
    dim_candidat, fact_resultat = candidates_and_results(all_voix, assignments, source_files, territory_voix)
    fact_resultat_territoire = totals.territory_results(territory_voix, dim_candidat)
    fact_participation = pd.concat(parts, ignore_index=True)
    lineage.record_step("blocs_faits", None, len(all_voix), len(fact_resultat), 0, t0)
    del all_voix
    t0 = now()
    unit_tables = unit_frames.tables(fact_participation, fact_resultat, scrutins, dim_candidat)
    lineage.record_step("unites_analyse", None, len(unit_frames.units), len(unit_tables["fact_participation_arrondissement"]), 0, t0)

    tables = {
        **dims,
        "dim_scrutin": scrutins,
        "dim_bloc": dim_bloc,
        "dim_candidat": dim_candidat,
        "fact_participation": fact_participation,
        "fact_resultat_commune": fact_resultat,
        "map_commune_scrutin": pd.concat(audits, ignore_index=True),
        "fact_participation_territoire": territory_part,
        "fact_resultat_territoire": fact_resultat_territoire,
    }
    tables.update(unit_tables)
    tables.update(indicators)
    tables.update(national_views.tables())  # France and département views of the national files (territory justification)
    tables.update(build_polls(lineage, say))  # national polls, whatever the territory

    say("Contrats de qualité")
    checks = contracts.run_contracts(tables)
    contracts.raise_on_blocking(checks)
    coverage = coverage_matrix(fact_participation, dims["dim_commune"], communal)

    say("Écriture de l'entrepôt")
    tables.update(lineage.tables())
    tables["dq_check"] = contracts.as_frame(checks, lineage.run_id)
    tables["couverture_scrutin"] = coverage
    counts = write_tables(target, tables)
    return EtlResult(lineage.run_id, target, counts, checks, coverage)
