"""Minimal reader of R's XDR serialization (``.rds``, format 2 or 3), for nested objects.

``pyreadr`` reads an ``.rds`` holding one data frame, but skips a top-level list: the
législatives 2022 file is a named list (``$Leg`` results, ``$Pdt`` record linkage). This
reader walks the whole stream (numeric vectors are sliced with numpy, strings decoded with a
cache) and returns plain Python values: ``RObject`` for vectors with attributes, ``dict`` for
environments, ``None`` for NULL; ``data_frame`` converts a data.frame to pandas.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from electio.errors import InputError

NA_INTEGER = -(2**31)
_INT = struct.Struct(">i")
# SEXP types (R Internals, "Serialization Formats").
NILSXP, SYMSXP, LISTSXP, CLOSXP, ENVSXP, PROMSXP, LANGSXP = 0, 1, 2, 3, 4, 5, 6
SPECIALSXP, BUILTINSXP, CHARSXP, LGLSXP, INTSXP, REALSXP, CPLXSXP = 7, 8, 9, 10, 13, 14, 15
STRSXP, DOTSXP, VECSXP, EXPRSXP, EXTPTRSXP, WEAKREFSXP, RAWSXP, S4SXP = 16, 17, 19, 20, 22, 23, 24, 25
ALTREP_SXP, ATTRLISTSXP, ATTRLANGSXP = 238, 239, 240
REFSXP, NILVALUE_SXP, GLOBALENV_SXP, UNBOUNDVALUE_SXP, MISSINGARG_SXP = 255, 254, 253, 252, 251
BASENAMESPACE_SXP, NAMESPACESXP, PACKAGESXP, PERSISTSXP = 247, 249, 250, 248
EMPTYENV_SXP, BASEENV_SXP = 242, 241
_PAIRS = {LISTSXP, LANGSXP, CLOSXP, PROMSXP, DOTSXP, ATTRLISTSXP, ATTRLANGSXP}
_CONSTANTS = {NILVALUE_SXP, GLOBALENV_SXP, UNBOUNDVALUE_SXP, MISSINGARG_SXP, BASENAMESPACE_SXP,
              EMPTYENV_SXP, BASEENV_SXP}
_LATIN1_MASK = 1 << 2  # in the CHARSXP "levels" (flags >> 12)


class RdsError(ValueError):
    """The stream is not an R XDR serialization this reader understands."""


@dataclass
class RObject:
    """An R value: its SEXP type, its data (numpy array, list …) and its attributes."""

    type: int
    value: Any
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Symbol:
    """An R symbol (name)."""

    name: str


class _Reader:
    """Sequential XDR decoder over the decompressed bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.view = memoryview(data)
        self.pos = 0
        self.refs: list[Any] = []
        self.strings: dict[bytes, str] = {}

    def int(self) -> int:
        (value,) = _INT.unpack_from(self.data, self.pos)
        self.pos += 4
        return value

    def length(self) -> int:
        n = self.int()
        if n == -1:  # long vector: two 32-bit halves
            upper, lower = self.int(), self.int()
            n = (upper << 32) + (lower & 0xFFFFFFFF)
        return n

    def array(self, dtype: str, n: int) -> np.ndarray:
        size = np.dtype(dtype).itemsize * n
        values = np.frombuffer(self.data, dtype=dtype, count=n, offset=self.pos)
        self.pos += size
        return values.astype(dtype[1:])  # native byte order copy

    def charsxp(self, flags: int) -> str | None:
        n = self.int()
        if n == -1:
            return None
        raw = bytes(self.view[self.pos : self.pos + n])
        self.pos += n
        text = self.strings.get(raw)
        if text is None:
            text = raw.decode("latin-1" if (flags >> 12) & _LATIN1_MASK else "utf-8", errors="replace")
            self.strings[raw] = text
        return text

    def strsxp(self) -> list[str | None]:
        n = self.length()
        data, view, cache, unpack = self.data, self.view, self.strings, _INT.unpack_from
        pos = self.pos
        out: list[str | None] = [None] * n
        for i in range(n):
            (flags,) = unpack(data, pos)
            (size,) = unpack(data, pos + 4)
            pos += 8
            if flags & 0xFF != CHARSXP:
                raise RdsError(f"élément de type {flags & 0xFF} dans un vecteur de chaînes")
            if size == -1:
                continue
            raw = bytes(view[pos : pos + size])
            pos += size
            text = cache.get(raw)
            if text is None:
                text = raw.decode("latin-1" if (flags >> 12) & _LATIN1_MASK else "utf-8", errors="replace")
                cache[raw] = text
            out[i] = text
        self.pos = pos
        return out

    def item(self) -> Any:
        flags = self.int()
        kind = flags & 0xFF
        has_attr = flags & (1 << 9)
        if kind in _CONSTANTS:
            return None
        if kind == REFSXP:
            index = flags >> 8 or self.int()
            return self.refs[index - 1]
        if kind == SYMSXP:
            symbol = Symbol(str(self.item()))
            self.refs.append(symbol)
            return symbol
        if kind in (PACKAGESXP, NAMESPACESXP, PERSISTSXP):
            if self.int() != 0:
                raise RdsError("vecteur de noms d'espace mal formé")
            names = [self.item() for _ in range(self.int())]
            self.refs.append(names)
            return names
        if kind == ENVSXP:
            self.int()  # locked
            env: dict[str, Any] = {}
            self.refs.append(env)
            self.item()  # enclosure
            frame, hashtab = self.item(), self.item()
            for part in (frame, hashtab):
                env.update(_bindings(part))
            self.item()  # attributes
            return env
        if kind in _PAIRS:
            return self.pairlist(flags)
        if kind == ALTREP_SXP:
            return self.altrep()
        if kind == CHARSXP:
            return self.charsxp(flags)
        value = self.vector(kind)
        attributes = _attributes(self.item()) if has_attr else {}
        return RObject(kind, value, attributes)

    def pairlist(self, flags: int) -> RObject:
        """A pairlist (also closures, calls, promises), read iteratively along its CDR."""
        kind = flags & 0xFF
        cells: list[tuple[str | None, Any]] = []
        attributes: dict[str, Any] = {}
        while True:
            if flags & (1 << 9):
                found = _attributes(self.item())
                attributes = attributes or found
            tag = self.item() if flags & (1 << 10) else None
            cells.append((tag.name if isinstance(tag, Symbol) else None, self.item()))
            flags = self.int()
            if flags & 0xFF not in _PAIRS:
                self.pos -= 4
                tail = self.item()
                if tail is not None:
                    cells.append((None, tail))
                return RObject(kind, cells, attributes)

    def altrep(self) -> Any:
        """An ALTREP object expanded: compact sequences, wrappers, deferred strings."""
        info, state, attr = self.item(), self.item(), self.item()
        class_name = info.value[0][1].name if isinstance(info, RObject) else ""
        attributes = _attributes(attr)
        if class_name in ("compact_intseq", "compact_realseq"):
            n, start, step = (float(v) for v in state.value[:3])
            values = start + step * np.arange(int(n))
            kind = INTSXP if class_name == "compact_intseq" else REALSXP
            values = values.astype("int32" if kind == INTSXP else "float64")
            return RObject(kind, values, attributes)
        if class_name.startswith("wrap_"):
            inner = state.value[0]
            inner.attributes = {**inner.attributes, **attributes}
            return inner
        if class_name == "deferred_string":
            source = state.value[0][1]
            values = [None if _is_na(v) else _format_number(v) for v in source.value]
            return RObject(STRSXP, values, attributes)
        raise RdsError(f"objet ALTREP non pris en charge : {class_name}")

    def vector(self, kind: int) -> Any:
        if kind in (LGLSXP, INTSXP):
            return self.array(">i4", self.length())
        if kind == REALSXP:
            return self.array(">f8", self.length())
        if kind == CPLXSXP:
            return self.array(">f8", 2 * self.length())
        if kind == STRSXP:
            return self.strsxp()
        if kind in (VECSXP, EXPRSXP):
            return [self.item() for _ in range(self.length())]
        if kind == RAWSXP:
            n = self.length()
            raw = bytes(self.view[self.pos : self.pos + n])
            self.pos += n
            return raw
        if kind in (SPECIALSXP, BUILTINSXP):
            n = self.int()
            self.pos += n
            return None
        if kind == S4SXP:
            return None
        if kind == EXTPTRSXP:
            self.refs.append(None)
            self.item()
            self.item()
            return None
        if kind == WEAKREFSXP:
            self.refs.append(None)
            return None
        raise RdsError(f"type R non pris en charge : {kind}")


def _is_na(value: float) -> bool:
    return bool(np.isnan(value)) if isinstance(value, float) else value == NA_INTEGER


def _format_number(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _bindings(part: Any) -> dict[str, Any]:
    """Name → value of an environment frame (pairlist) or hash table (list of pairlists)."""
    if not isinstance(part, RObject):
        return {}
    if part.type == VECSXP:
        found: dict[str, Any] = {}
        for bucket in part.value:
            found.update(_bindings(bucket))
        return found
    return {tag: value for tag, value in part.value if tag is not None}


def _attributes(pairs: Any) -> dict[str, Any]:
    """Attributes pairlist as a dict."""
    if not isinstance(pairs, RObject):
        return {}
    return {tag: value for tag, value in pairs.value if tag is not None}


def _decompress(path: Path) -> bytes:
    """Bytes of the serialization (gzip, bzip2 and xz are R's compressions; gzip is the default)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(path, f"fichier illisible ({exc.strerror})") from exc
    if raw.startswith(b"\x1f\x8b"):
        try:
            return gzip.decompress(raw)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise InputError(path, f"fichier .rds compressé tronqué ou corrompu ({exc})") from exc
    return raw


def read_rds(path: Path) -> Any:
    """The R object serialized in ``path``; ``InputError`` when it is not a readable ``.rds``."""
    data = _decompress(path)
    if not data.startswith(b"X\n"):
        raise InputError(path, "fichier .rds illisible (sérialisation R XDR attendue)")
    reader = _Reader(data)
    reader.pos = 2
    try:
        version = reader.int()
        reader.int()  # writer R version
        reader.int()  # minimal R version
        if version == 3:
            size = reader.int()  # then the native encoding name
            reader.pos += size
        elif version != 2:
            raise RdsError(f"format de sérialisation {version} inconnu")
        return reader.item()
    except (RdsError, struct.error, ValueError, IndexError, AttributeError) as exc:
        raise InputError(path, f"fichier .rds illisible ou tronqué ({exc})") from exc


def element(value: Any, name: str, path: Path) -> Any:
    """Element ``name`` of a named R list; ``InputError`` naming the file when it is absent."""
    names = value.attributes.get("names") if isinstance(value, RObject) else None
    if value.type != VECSXP or names is None or name not in names.value:
        raise InputError(path, f"élément « ${name} » absent de l'objet R")
    return value.value[names.value.index(name)]


def data_frame(value: Any, path: Path) -> pd.DataFrame:
    """A data.frame (or tibble) as pandas: factors as text, NA as missing."""
    names = value.attributes.get("names") if isinstance(value, RObject) else None
    if value is None or value.type != VECSXP or names is None:
        raise InputError(path, "l'objet R n'est pas une table (data.frame)")
    columns = {}
    for name, column in zip(names.value, value.value, strict=True):
        columns[name] = _column(column)
    return pd.DataFrame(columns)


def _column(column: RObject) -> pd.Series:
    """One data.frame column as a pandas Series."""
    levels = column.attributes.get("levels")
    if column.type == INTSXP and levels is not None:
        codes = column.value
        labels = np.asarray([*levels.value, None], dtype=object)
        return pd.Series(labels[np.where(codes == NA_INTEGER, len(levels.value), codes - 1)], dtype="str")
    if column.type == STRSXP:
        return pd.Series(column.value, dtype="str")
    if column.type in (INTSXP, LGLSXP):
        values = pd.array(column.value, dtype="Int64")
        values[column.value == NA_INTEGER] = pd.NA
        return pd.Series(values)
    if column.type == REALSXP:
        return pd.Series(column.value)
    raise RdsError(f"colonne de type R {column.type} non prise en charge")
