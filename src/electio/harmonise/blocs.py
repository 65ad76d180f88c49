"""Political blocs: the versioned referential (referentials/blocs*.csv) applied to candidates."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from electio.config import REFERENTIALS_DIR
from electio.errors import InputError
from electio.referentials import read_referential

BLOCS_CSV = REFERENTIALS_DIR / "blocs.csv"
ASSIGNMENTS_CSV = REFERENTIALS_DIR / "blocs_affectation.csv"
NO_BLOC = "aucun"
"""``bloc`` of a referential key counted in no bloc (``code_bloc`` NULL): e.g. municipales lists without nuance."""
ASSIGNMENT_COLUMNS = ["version", "scrutin_id", "type_cle", "cle", "libelle", "bloc", "justification"]


def load_blocs(path: Path = BLOCS_CSV) -> pd.DataFrame:
    """``dim_bloc`` rows."""
    frame = read_referential(path, ["code_bloc", "libelle", "ordre", "couleur", "description"])
    frame["ordre"] = frame["ordre"].astype(int)
    return frame


def version_key(version: str) -> tuple[int, ...]:
    """Order versions like ``2026.1`` < ``2026.2`` < ``2027.1``."""
    return tuple(int(part) for part in version.split("."))


def load_assignments(path: Path = ASSIGNMENTS_CSV, blocs: pd.DataFrame | None = None, version: str | None = None) -> pd.DataFrame:
    """Assignments of one referential version (default: the latest); keys unique, blocs known."""
    frame = read_referential(path, ASSIGNMENT_COLUMNS)
    try:
        chosen = version or max(frame["version"], key=version_key)
    except ValueError as exc:
        raise InputError(path, f"version illisible ou fichier vide ({exc})") from exc
    if chosen not in set(frame["version"]):
        raise InputError(path, f"version {chosen!r} absente du référentiel")
    frame = frame[frame["version"] == chosen]
    dupes = frame.duplicated(["scrutin_id", "type_cle", "cle"], keep=False)
    if dupes.any():
        line = int(dupes.idxmax()) + 2
        raise InputError(path, f"clé en double : {frame.loc[dupes.idxmax(), 'cle']!r}", line=line)
    bad_type = ~frame["type_cle"].isin(["candidat", "nuance"])
    if bad_type.any():
        raise InputError(path, "type_cle doit valoir candidat ou nuance", line=int(bad_type.idxmax()) + 2)
    if blocs is not None:
        unknown = ~frame["bloc"].isin({*blocs["code_bloc"], NO_BLOC})
        if unknown.any():
            i = int(unknown.idxmax())
            raise InputError(path, f"bloc inconnu {frame.loc[i, 'bloc']!r}", line=i + 2)
    return frame


def assign_blocs(candidates: pd.DataFrame, assignments: pd.DataFrame, source_file: str) -> pd.DataFrame:
    """Attach bloc, version and justification to each (scrutin_id, candidat, prenom, nuance).

    The key is the nuance when the referential keys that ballot by nuance, else the candidate.
    A candidate absent from the referential is an error naming the source file and the referential.
    """
    keyed = candidates.copy()
    kinds = assignments.drop_duplicates("scrutin_id").set_index("scrutin_id")["type_cle"]
    keyed["type_cle"] = keyed["scrutin_id"].map(kinds).fillna("candidat")
    keyed["cle"] = keyed["candidat"].where(keyed["type_cle"] == "candidat", keyed["nuance"])
    merged = keyed.merge(assignments, on=["scrutin_id", "type_cle", "cle"], how="left")
    unknown = merged[merged["bloc"].isna()]
    if not unknown.empty:
        names = ", ".join(sorted(set(unknown["cle"].astype(str)))[:10])
        raise InputError(
            source_file,
            f"candidat(s)/nuance(s) absent(s) du référentiel des blocs {ASSIGNMENTS_CSV.name} "
            f"pour {unknown['scrutin_id'].iloc[0]} : {names}",
        )
    merged["bloc"] = merged["bloc"].where(merged["bloc"] != NO_BLOC)
    return merged.rename(columns={"bloc": "code_bloc", "version": "version_referentiel"})[
        ["scrutin_id", "candidat", "prenom", "nuance", "code_bloc", "version_referentiel", "justification"]
    ]
