"""Reading the project's referential CSV files (``referentials/*.csv``): data, not code."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from electio.errors import InputError


def read_referential(path: Path, columns: list[str]) -> pd.DataFrame:
    """Read a referential CSV as strings, checking its columns."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(path, f"référentiel illisible ({exc})") from exc
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(path, f"colonnes manquantes : {', '.join(missing)}")
    return frame
