"""Bootstrap the source catalogue (sources/*.toml) from the mirror's SOURCES.csv files.

Run once when the mirror gains files; the TOML files are then the curated source of truth
(review ids, parsers and licences by hand). Usage: python scripts/catalogue_from_mirror.py MIRROR
[--missing-only]: with --missing-only, the rows not yet declared are appended to their folder's
file (``sources/<folder>.toml``) and nothing declared is rewritten.
"""

from __future__ import annotations

import csv
import re
import sys
import tomllib
from urllib.parse import quote
from pathlib import Path

GITHUB = re.compile(r"github (?P<repo>[\w.-]+/[\w.-]+) @ (?P<commit>[0-9a-f]{40}) : (?P<path>[^(]+?)\s*(\((?P<note>.*)\))?$")
NPM = re.compile(r"npm (?P<pkg>@?[\w./-]+)@(?P<version>[\w.]+) : (?P<path>\S+)")
LICENCE_BY_PUBLISHER = [
    ("Ministère de l'Intérieur", "Licence Ouverte / Open Licence 2.0 (Etalab)"),
    ("INSEE", "Licence Ouverte / Open Licence 2.0 (Etalab)"),
    ("SSMSI", "Licence Ouverte / Open Licence 2.0 (Etalab)"),
    ("CNAF", "Licence Ouverte / Open Licence 2.0 (Etalab)"),
    ("URSSAF", "Licence Ouverte / Open Licence 2.0 (Etalab)"),
    ("France Travail", "Licence Ouverte / Open Licence 2.0 (Etalab)"),
]


ELECTION_PARSERS = {"large": "aktiur.parse_wide", "long": "aktiur.parse_long"}
# Election files whose layout the name does not tell: (id, parser), chosen by hand.
NEW_ELECTIONS = {
    "elections/euro2024_t1/reinaldodos_europeennes-2024_output_resultats.rds": ("euro2024_t1_bureau", "rds_long.parse_euro2024"),
    "elections/euro2024_t1/lasylv_europeennes2024_output_communes_json.tar.gz": ("euro2024_t1_commune_json", "lasylv.parse_communes"),
    "elections/leg2024_t1/reinaldodos_legislatives-2024_resultats-bdv-T1.rds": ("leg2024_t1_bureau", "rds_long.parse_leg2024"),
    "elections/leg2022_t1/reinaldodos_legislatives-2022_sankey_donnees.rds": ("leg2022_t1_bureau", "rds_long.parse_leg2022"),
    "elections/muni2026_t1/azukigpt_municipales2026_t1_public_data_json.tar.gz": ("muni2026_t1_commune", "municipales_json.parse_municipales"),
    "elections/pres2022_t1_dep/tguerra_pres2022_resultats-par-niveau-dpt-t1-france-entiere.xlsx": ("pres2022_t1_dep", "departement_totals.parse_pres2022"),
    "elections/pres2022_t2_dep/lrxk_pres2022_resultats-par-niveau-dpt-t2-france-entiere.xlsx": ("pres2022_t2_dep", "departement_totals.parse_pres2022"),
    "elections/leg2022_t2/lucas1288_leg2022_resultats-par-niveau-dpt-t2-france-entiere.txt": ("leg2022_t2_dep", "departement_totals.parse_leg2022_t2"),
    "elections/leg2022_t2/lucas1288_leg2022_resultats-par-niveau-cirlg-t2-france-entiere.txt": ("leg2022_t2_circo", "departement_totals.parse_leg2022_t2"),
    "elections/leg2024_t2/lucas1288_leg2024_t2-dpt.csv": ("leg2024_t2_dep", "departement_totals.parse_leg2024_t2"),
    "elections/leg2024_t2/lucas1288_leg2024_t2-circo.csv": ("leg2024_t2_circo", "departement_totals.parse_leg2024_t2"),
}


def election_id(row: dict[str, str]) -> tuple[str, str]:
    """(id, parser) of an election file: ballot id, level, and layout when it has two."""
    name = Path(row["path"]).name
    layout = "long" if "_long" in name else "large" if "_large" in name else ""
    if row["path"].startswith("elections/muni"):
        return f"{row['election_id']}_{row['level']}_34", "opendatasoft.parse_municipales"
    if "rhone-69" in name:
        return f"{row['election_id']}_{row['level']}_69", "ministere.parse_blocks"
    suffix = f"_{layout}" if row["election_id"].startswith("leg") else ""
    return f"{row['election_id']}_{row['level']}{suffix}", ELECTION_PARSERS[layout]


def source_id(path: str) -> str:
    """A stable snake_case id derived from the mirror path."""
    folder, _, name = path.partition("/")
    if folder == "geo" and name.startswith("communes_polygons/"):
        return "communes_polygons_" + name.split("-")[1]
    if folder == "polls":  # polls/<ballot>/<compiler>/[polls/]<file>: compilers repeat file names across ballots
        ballot, compiler, *_ = name.split("/")
        stem = re.sub(r"[^0-9a-zA-Z]+", "_", Path(name).name).strip("_").lower()
        return f"sondages_{ballot}_{compiler}__{stem}"
    stem = re.sub(r"(\.csv|\.json|\.geojson|\.gz|\.zip|\.tgz|\.parquet|\.RData)+$", "", Path(name).name)
    sub = Path(name).parent.name
    stem = re.sub(r"[^0-9a-zA-Z]+", "_", stem).strip("_").lower()
    return f"{sub}__{stem}" if sub and not stem.startswith(sub) else stem


def download(obtained_from: str) -> tuple[str, str]:
    """(url, method): a URL serving exactly the mirrored bytes, or an npm package spec."""
    m = GITHUB.match(obtained_from.strip())
    if m and not m.group("note"):
        return f"https://raw.githubusercontent.com/{m['repo']}/{m['commit']}/{quote(m['path'].strip())}", "http"
    n = NPM.match(obtained_from.strip())
    if n:
        return f"{n['pkg']}@{n['version']}", "npm"
    return "", "mirror"


def licence(row: dict[str, str]) -> str:
    for key in ("license", "licence"):
        if row.get(key):
            return row[key]
    pub = row.get("original_publisher", "")
    for key, text in LICENCE_BY_PUBLISHER:
        if key.lower() in pub.lower():
            return text
    return "Licence Ouverte / Open Licence 2.0 (Etalab) — à confirmer"


def toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def entry(folder: str, row: dict[str, str]) -> str:
    url, method = download(row["obtained_from"])
    sha_served = ""
    if row["path"].endswith(".geojson.gz"):
        # The mirror gzips the published GeoJSON; the URL serves the uncompressed bytes.
        m = re.search(r"uncompressed \d+ bytes, sha256 ([0-9a-f]{64})", row["format_notes"])
        sha_served = m.group(1) if m else ""
    if row["path"].startswith("indicators/population/") and method == "npm":
        pass  # the mirrored tarball is the npm package itself
    elif method == "npm":
        pkg, _, ver = url.rpartition("@")
        inner = NPM.match(row["obtained_from"].strip())["path"].removeprefix("package/")
        url, method = f"https://unpkg.com/{pkg}@{ver}/{inner}", "http"
    sid, parser = NEW_ELECTIONS.get(row["path"]) or (election_id(row) if folder == "elections" else (source_id(row["path"]), ""))
    fields = {
        "id": sid,
        "folder": folder,
        "title": row.get("election_id") or row.get("indicators") or row.get("kind") or row.get("ballot") or "",
        "publisher": row["original_publisher"],
        "licence": licence(row),
        "mirror_path": row["path"],
        "download": method,
        "url": url,
        "provenance_url": row.get("original_url", ""),
        "obtained_from": row["obtained_from"],
        "sha256": row["sha256"],
        "bytes": row["bytes"],
        "derivative": row.get("derivative", "yes"),
        "format": row["format_notes"][:400],
        "parser": parser,
    }
    if sha_served:
        fields["served_sha256"] = sha_served
    lines = ["[[source]]"]
    for key, value in fields.items():
        lines.append(f"{key} = {int(value) if key == 'bytes' else toml_str(value)}")
    return "\n".join(lines)


FOLDERS = ("elections", "geo", "indicators", "polls")


def declared_paths(out: Path) -> set[str]:
    """Mirror paths already in the catalogue."""
    return {entry["mirror_path"] for path in out.glob("*.toml") for entry in tomllib.loads(path.read_text(encoding="utf-8")).get("source", [])}


def inherit_publishers(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Rows whose publisher reads "as above" take the previous row's publisher."""
    previous = ""
    for row in rows:
        if row.get("original_publisher", "").strip().lower() == "as above":
            row["original_publisher"] = previous
        previous = row.get("original_publisher", "")
    return rows


def main(mirror: Path, out: Path, missing_only: bool = False) -> None:
    known = declared_paths(out) if missing_only else set()
    for folder in FOLDERS:
        rows = inherit_publishers(list(csv.DictReader((mirror / folder / "SOURCES.csv").open(encoding="utf-8"))))
        rows = [r for r in rows if r["path"] not in known]
        if not rows:
            continue
        body = "\n\n".join(entry(folder, r) for r in rows)
        target = out / f"{folder}.toml"
        if missing_only and target.exists():
            target.write_text(target.read_text(encoding="utf-8").rstrip("\n") + f"\n\n{body}\n", encoding="utf-8")
        else:
            target.write_text(f"# Source catalogue: {folder}. Curated; bootstrapped from the mirror's SOURCES.csv.\n\n{body}\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(__file__).resolve().parent.parent / "sources", "--missing-only" in sys.argv[2:])
