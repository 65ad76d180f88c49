"""Fetch raw files: from the local mirror when present, else from their URL, always checksum-verified.

Raw files are never modified: a mirror file is read in place; a downloaded file is kept in the
cache folder under its mirror path.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pooch

from electio import config
from electio.catalogue import Source
from electio.errors import ChecksumError, InputError


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Located:
    """A source file found on disk, with where it was found and its verified checksum."""

    source: Source
    path: Path
    origin: str  # "miroir" or "cache"
    sha256: str


def _candidates(source: Source) -> list[tuple[Path, str]]:
    found = []
    mirror = config.mirror_dir()
    if mirror is not None:
        found.append((mirror / source.mirror_path, "miroir"))
    found.append((config.cache_dir() / source.mirror_path, "cache"))
    if source.served_sha256:
        served = config.cache_dir() / source.mirror_path.removesuffix(".gz")
        found.append((served, "cache"))
    return found


def expected_sha(source: Source, path: Path) -> str:
    """The checksum a file must have: the mirror's, or the served bytes' for an ungzipped download."""
    if source.served_sha256 and not path.name.endswith(".gz"):
        return source.served_sha256
    return source.sha256


def verify(source: Source, path: Path) -> str:
    """Check a file's sha256 against the catalogue; raise ChecksumError naming the file."""
    actual = sha256_of(path)
    expected = expected_sha(source, path)
    if actual != expected:
        raise ChecksumError(path, f"empreinte sha256 {actual} différente de celle du catalogue {expected} (source {source.id})")
    return actual


def locate(source: Source) -> Path | None:
    """Path of the file if already on disk (mirror or cache), without verifying it."""
    for path, _ in _candidates(source):
        if path.is_file():
            return path
    return None


def fetch(source: Source, allow_download: bool = True) -> Located:
    """Return the verified local file of a source, downloading it from its URL if needed."""
    for path, origin in _candidates(source):
        if path.is_file():
            return Located(source, path, origin, verify(source, path))
    if not allow_download:
        raise InputError(source.mirror_path, f"fichier absent du miroir et du cache (source {source.id})")
    path = _download(source)
    return Located(source, path, "cache", verify(source, path))


def _download(source: Source) -> Path:
    target = config.cache_dir() / source.mirror_path
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.download == "http":
        if source.served_sha256:
            target = target.with_name(target.name.removesuffix(".gz"))
        known = source.served_sha256 or source.sha256
        try:  # no progress bar: pooch's needs tqdm, which is not a dependency
            fetched = pooch.retrieve(source.url, known_hash=f"sha256:{known}", fname=target.name, path=target.parent, progressbar=False)
        except ValueError as exc:  # pooch: the downloaded bytes' hash differs (the file is not kept)
            raise ChecksumError(target, f"le fichier servi par {source.url} n'a pas l'empreinte du catalogue (source {source.id}) : {exc}") from None
        except OSError as exc:  # requests' errors derive from OSError
            raise InputError(target, f"téléchargement impossible depuis {source.url} (source {source.id}) : {exc}") from None
        return Path(fetched)
    if source.download == "npm":
        return _npm_pack(source.url, target)
    raise InputError(source.mirror_path, f"aucune URL ne sert exactement ce fichier (source {source.id}) : placez-le dans le miroir (ELECTIO_MIRROR)")


def _npm_pack(spec: str, target: Path) -> Path:
    """Fetch an npm package tarball with the npm client (registry set by the machine)."""
    npm = shutil.which("npm")
    if npm is None:
        raise InputError(target, f"npm est requis pour télécharger {spec}")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([npm, "pack", spec, "--pack-destination", tmp], capture_output=True, text=True, check=False)
        packed = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or len(packed) != 1:
            raise InputError(target, f"échec de « npm pack {spec} » : {done.stderr.strip()[:300]}")
        shutil.move(packed[0], target)
    return target


def status(source: Source) -> str:
    """Catalogue status of a source: ``verified``, ``present`` (checksum differs) or ``missing``."""
    path = locate(source)
    if path is None:
        return "missing"
    return "verified" if sha256_of(path) == expected_sha(source, path) else "present"
