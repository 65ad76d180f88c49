"""Poll harmonisation, every rule read from ``referentials/sondages_*.csv``.

Pollster names → one canonical name; options (candidates, lists, blocs) → the key of the
blocs referential → ``code_bloc``; exclusions (questions that are not vote intentions, non-poll
rows, overlapping rolling waves); the cross-compiler dedupe; stable poll ids.

Dedupe rule (documented in docs/polls.md): two scenarios are the same poll when they target the
same ballot and round at the same level, their fieldwork ends within ±1 day, their canonical
pollsters are equal (or one is unknown), their option sets are equal (or one contains the other
when one compiler lists only the main candidates: ``options_partielles``), and every common share
differs by at most 1 point. Two scenarios of one file with different compiler poll ids are never
merged (consecutive rolling waves look alike). The copy kept is the one of the compiler with the
best (lowest) ``priorite`` in ``sondages_compilateurs.csv``.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pandas as pd

from electio.config import REFERENTIALS_DIR
from electio.errors import InputError
from electio.referentials import read_referential

INSTITUTS_CSV = REFERENTIALS_DIR / "sondages_instituts.csv"
ALIAS_CSV = REFERENTIALS_DIR / "sondages_alias.csv"
EXCLUSIONS_CSV = REFERENTIALS_DIR / "sondages_exclusions.csv"
COMPILERS_CSV = REFERENTIALS_DIR / "sondages_compilateurs.csv"
ANY = "*"
ROLLING_RULE = "vagues_glissantes"
ROW_RULES = ("hypothese_id", "id_source", "date_fin", "institut_source")
DATE_TOLERANCE = timedelta(days=1)
SHARE_TOLERANCE = 1.0


def load_instituts(path: Path = INSTITUTS_CSV) -> dict[str, str]:
    """Pollster spelling (case-folded) → canonical name."""
    frame = read_referential(path, ["nom_source", "institut"])
    return {name.strip().casefold(): canonical for name, canonical in zip(frame["nom_source"], frame["institut"], strict=True)}


def canonical_pollsters(sondages: pd.DataFrame, instituts: dict[str, str], path: Path) -> pd.Series:
    """Canonical pollster of each scenario (null when the compiler gives none); unknown → error."""
    raw = sondages["institut_source"]
    known = raw.map(lambda v: None if v is None or pd.isna(v) else instituts.get(str(v).strip().casefold()))
    unknown = raw.notna() & known.isna()
    if unknown.any():
        row = sondages[unknown].iloc[0]
        line = None if pd.isna(row["ligne_source"]) else int(row["ligne_source"])
        raise InputError(path, f"institut de sondage inconnu de {INSTITUTS_CSV.name} : {row['institut_source']!r} "
                               f"(sondage {row['id_source']})", line=line)
    return known


def load_compilers(path: Path = COMPILERS_CSV) -> pd.DataFrame:
    """Compiler priority (1 = best) and whether it lists only the main options."""
    frame = read_referential(path, ["compilateur", "priorite", "options_partielles", "licence"])
    frame["priorite"] = frame["priorite"].astype(int)
    frame["options_partielles"] = frame["options_partielles"].str.lower() == "true"
    return frame.set_index("compilateur")


def load_exclusions(path: Path = EXCLUSIONS_CSV) -> pd.DataFrame:
    """Exclusion rules (compilateur, type_regle, valeur, motif); rule types checked."""
    frame = read_referential(path, ["compilateur", "type_regle", "valeur", "motif"])
    bad = ~frame["type_regle"].isin([*ROW_RULES, ROLLING_RULE])
    if bad.any():
        raise InputError(path, f"type_regle inconnu : {frame.loc[bad.idxmax(), 'type_regle']!r}", line=int(bad.idxmax()) + 2)
    return frame


def excluded_rows(sondages: pd.DataFrame, compilateur: str, rules: pd.DataFrame) -> pd.Series:
    """Motif of the row rule excluding each scenario (null when kept)."""
    motif = pd.Series(pd.NA, index=sondages.index, dtype="object")
    mine = rules[rules["compilateur"].isin([compilateur, ANY]) & rules["type_regle"].isin(ROW_RULES)]
    for rule in mine.itertuples():
        values = sondages[rule.type_regle].astype("string")
        motif = motif.mask(motif.isna() & (values == rule.valeur).fillna(False).astype(bool), rule.motif)
    return motif


def load_aliases(path: Path = ALIAS_CSV) -> pd.DataFrame:
    """Option spelling → referential key (and direct bloc for bloc-level sources)."""
    return read_referential(path, ["compilateur", "scrutin_cible", "nom_source", "cle", "code_bloc", "justification"])


def default_key(option: str, surname: object) -> str:
    """Referential key of a candidate without alias: the surname (else the last word), upper case."""
    text = surname if isinstance(surname, str) and surname.strip() else str(option).split()[-1]
    return text.strip().upper()


def option_keys(options: pd.DataFrame, compilateur: str, aliases: pd.DataFrame) -> pd.DataFrame:
    """``cle`` and direct ``code_bloc`` (bloc-level aliases) for each option row (needs ``scrutin_cible``)."""
    mine = aliases[aliases["compilateur"].isin([compilateur, ANY])]
    specific = {(r.scrutin_cible, r.nom_source): (r.cle, r.code_bloc) for r in mine.itertuples() if r.scrutin_cible != ANY}
    general = {r.nom_source: (r.cle, r.code_bloc) for r in mine.itertuples() if r.scrutin_cible == ANY}
    keys = [specific.get((cible, opt)) or general.get(opt) or (default_key(opt, surname), "")
            for cible, opt, surname in zip(options["scrutin_cible"], options["option"], options["nom_famille"], strict=True)]
    out = options.copy()
    out["cle"] = [k for k, _ in keys]
    out["code_bloc"] = [b or None for _, b in keys]
    return out


def map_blocs(options: pd.DataFrame, assignments: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Fill ``code_bloc`` from the blocs referential (``scrutin_cible``, ``cle``); unmapped → error."""
    table = assignments[assignments["type_cle"] == "candidat"].set_index(["scrutin_id", "cle"])["bloc"]
    looked = pd.Series(list(zip(options["scrutin_cible"], options["cle"], strict=True)), index=options.index).map(table.to_dict())
    out = options.copy()
    out["code_bloc"] = out["code_bloc"].fillna(looked)
    missing = out[out["code_bloc"].isna()]
    if not missing.empty:
        row = missing.iloc[0]
        line = None if pd.isna(row["ligne_source"]) else int(row["ligne_source"])
        raise InputError(path, f"option de sondage {row['option']!r} (clé {row['cle']!r}) absente du référentiel des blocs "
                               f"blocs_affectation.csv pour {row['scrutin_cible']} : ajoutez la ligne ou un alias dans "
                               f"{ALIAS_CSV.name}", line=line)
    return out


def _shares(options: pd.DataFrame) -> dict[str, dict[str, float]]:
    """uid → {cle: share}."""
    result: dict[str, dict[str, float]] = defaultdict(dict)
    for uid, cle, share in zip(options["uid"], options["cle"], options["intention"], strict=True):
        result[uid][cle] = float(share) if pd.notna(share) else float("nan")
    return result


def same_poll(a: pd.Series, b: pd.Series, shares: dict[str, dict[str, float]], partial: dict[str, bool]) -> bool:
    """Whether scenarios ``a`` and ``b`` are one poll under the dedupe rule (module docstring)."""
    if a["source_id"] == b["source_id"] and a["id_source"] != b["id_source"]:
        return False
    if pd.notna(a["institut"]) and pd.notna(b["institut"]) and a["institut"] != b["institut"]:
        return False
    sa, sb = shares[a["uid"]], shares[b["uid"]]
    ka, kb = set(sa), set(sb)
    if ka != kb and not ((partial[a["compilateur"]] or partial[b["compilateur"]]) and (ka <= kb or kb <= ka)):
        return False
    common = ka & kb
    return bool(common) and all(abs(sa[k] - sb[k]) <= SHARE_TOLERANCE for k in common)


def dedupe(sondages: pd.DataFrame, options: pd.DataFrame, compilers: pd.DataFrame) -> pd.DataFrame:
    """Scenarios with ``doublon_de`` (uid of the kept copy, null when kept) and ``compilateurs``."""
    shares = _shares(options)
    partial = compilers["options_partielles"].to_dict()
    order = sondages.assign(_p=sondages["compilateur"].map(compilers["priorite"])).sort_values(["_p", "_order"], kind="stable")
    kept_by_day: dict[tuple, list[pd.Series]] = defaultdict(list)
    duplicate_of: dict[str, str] = {}
    found_in: dict[str, list[str]] = {}
    absorbed: dict[str, set[str]] = defaultdict(set)
    for _, row in order.iterrows():
        bucket = (row["scrutin_cible"], row["tour"], row["niveau"])
        match = None
        if pd.notna(row["date_fin"]):
            for offset in (0, -1, 1):
                day = row["date_fin"] + timedelta(days=offset)
                match = next((k for k in kept_by_day[(*bucket, day)] if row["source_id"] not in absorbed[k["uid"]]
                              and same_poll(k, row, shares, partial)), None)
                if match is not None:
                    break
        if match is None:
            kept_by_day[(*bucket, row["date_fin"])].append(row)
            found_in[row["uid"]] = [row["compilateur"]]
        else:
            duplicate_of[row["uid"]] = match["uid"]
            if row["source_id"] != match["source_id"]:
                absorbed[match["uid"]].add(row["source_id"])
            if row["compilateur"] not in found_in[match["uid"]]:
                found_in[match["uid"]].append(row["compilateur"])
    out = sondages.copy()
    out["doublon_de"] = out["uid"].map(duplicate_of)
    out["compilateurs"] = out["uid"].map(lambda u: ", ".join(found_in.get(u, [])) or None)
    return out


def thin_rolling(sondages: pd.DataFrame) -> pd.Series:
    """Whether each scenario belongs to a rolling wave dropped by the rule ``vagues_glissantes``."""
    dropped = pd.Series(False, index=sondages.index)
    rolling = sondages[sondages["vague_glissante"] & sondages["institut"].notna() & sondages["date_fin"].notna()]
    for _, group in rolling.groupby(["institut", "scrutin_cible", "tour"], dropna=False):
        starts = group["date_debut"].fillna(group["date_fin"])
        windows = sorted(set(zip(starts, group["date_fin"], strict=True)), key=lambda w: (w[1], w[0]), reverse=True)
        keep, boundary = set(), None
        for start, end in windows:
            if boundary is None or end < boundary:
                keep.add((start, end))
                boundary = start
        in_kept = [(s, e) in keep for s, e in zip(starts, group["date_fin"], strict=True)]
        dropped.loc[group.index] = [not k for k in in_kept]
    return dropped


def slug(text: object) -> str:
    """Lower-case ASCII slug (pollster names in ids)."""
    ascii_ = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", ascii_.lower()) or "inconnu"


def poll_ids(sondages: pd.DataFrame) -> pd.Series:
    """Stable ``sondage_id``: ballot, pollster, fieldwork end and a hash of the scenario
    (sorted option keys, population, compiler poll id when no pollster is known)."""
    ids = []
    for row in sondages.itertuples():
        who = row.institut if isinstance(row.institut, str) else row.compilateur
        day = row.date_fin.strftime("%Y%m%d") if pd.notna(row.date_fin) else "sansdate"
        basis = "|".join([row.candidats, str(row.population), str(row.hypothese_id),
                          "" if isinstance(row.institut, str) else str(row.id_source)])
        ids.append(f"{row.scrutin_cible}_{slug(who)}_{day}_{hashlib.sha1(basis.encode()).hexdigest()[:6]}")
    series = pd.Series(ids, index=sondages.index)
    rank = series.groupby(series).cumcount()
    return series.where(rank == 0, series + "_" + (rank + 1).astype(str))
