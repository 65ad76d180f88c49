"""Bootstrap the source catalogue (sources/*.toml) from the mirror's SOURCES.csv files.

Run once when the mirror gains files; the TOML files are then the curated source of truth
(review ids, parsers and licences by hand). Usage: python scripts/catalogue_from_mirror.py MIRROR
"""

from __future__ import annotations

import csv
import re
import sys
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
    if row.get("license"):
        return row["license"]
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
    sid, parser = election_id(row) if folder == "elections" else (source_id(row["path"]), "")
    fields = {
        "id": sid,
        "folder": folder,
        "title": row.get("election_id") or row.get("indicators") or row.get("kind") or "",
        "publisher": row["original_publisher"],
        "licence": licence(row),
        "mirror_path": row["path"],
        "download": method,
        "url": url,
        "provenance_url": row["original_url"],
        "obtained_from": row["obtained_from"],
        "sha256": row["sha256"],
        "bytes": row["bytes"],
        "derivative": row["derivative"],
        "format": row["format_notes"][:400],
        "parser": parser,
    }
    if sha_served:
        fields["served_sha256"] = sha_served
    lines = ["[[source]]"]
    for key, value in fields.items():
        lines.append(f"{key} = {int(value) if key == 'bytes' else toml_str(value)}")
    return "\n".join(lines)


def main(mirror: Path, out: Path) -> None:
    for folder in ("elections", "geo", "indicators"):
        rows = list(csv.DictReader((mirror / folder / "SOURCES.csv").open(encoding="utf-8")))
        body = "\n\n".join(entry(folder, r) for r in rows)
        (out / f"{folder}.toml").write_text(f"# Source catalogue: {folder}. Curated; bootstrapped from the mirror's SOURCES.csv.\n\n{body}\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(__file__).resolve().parent.parent / "sources")
