"""Shared helpers of the report and the slides: French number formats and warehouse reading."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from electio import config
from electio.analysis.explore import has_relation
from electio.analysis.figures import fr_number


# ─── Formatting (French conventions; also used by the slides) ────────────────────────────

def entier(value: object) -> str:
    """An integer with a narrow no-break space between thousands."""
    return fr_number(float(value), 0) if value is not None else "n.d."  # type: ignore[arg-type]


def dec(value: object, digits: int = 2) -> str:
    """A decimal number with a decimal comma."""
    return fr_number(None if value is None else float(value), digits)  # type: ignore[arg-type]


def pct(value: object, digits: int = 1) -> str:
    """A fraction (0–1) as a percentage."""
    text = dec(None if value is None else 100 * float(value), digits)  # type: ignore[arg-type]
    return text if text == "n.d." else f"{text}\u202f%"


def pts(value: object, digits: int = 2) -> str:
    """Percentage points."""
    text = dec(value, digits)
    return text if text == "n.d." else f"{text}\u202fpt"


def rank(key: str, order: Sequence[str]) -> int:
    """Position of ``key`` in ``order`` (unknown keys last)."""
    return list(order).index(key) if key in order else len(order)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a frame as dicts, NaN as None (for the template)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


# ─── Reading ─────────────────────────────────────────────────────────────────────────────

def query(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> pd.DataFrame:
    """A query's result as a frame."""
    return con.execute(sql, list(params)).df()


def scalar(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> Any:
    """The first value of a query."""
    row = con.execute(sql, list(params)).fetchone()
    return None if row is None else row[0]


def card_values(con: duckdb.DuckDBPyConnection, section: str) -> dict[str, str]:
    """``model_card`` rows of a section (key → value), in order."""
    if not has_relation(con, "model_card"):
        return {}
    rows = query(con, "SELECT cle, valeur FROM model_card WHERE section = ? ORDER BY ordre", section)
    return dict(zip(rows["cle"], rows["valeur"], strict=True))


def bloc_labels(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Bloc code → French label (plus abstention, participation, mean)."""
    labels = dict(con.execute("SELECT code_bloc, libelle FROM dim_bloc ORDER BY ordre").fetchall())
    return {**labels, "abstention": "Abstention", "participation": "Participation", "moyenne": "Moyenne des blocs"}


def ballot_totals(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per ballot and bloc: the territory's votes, exprimés and share."""
    return query(con, """
        SELECT scrutin_id, bloc, SUM(voix) AS voix, SUM(exprimes) AS exprimes, SUM(voix) / SUM(exprimes) AS part
        FROM v_resultat_bloc_commune GROUP BY ALL""")


def turnout(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per ballot: the territory's turnout (votants / inscrits)."""
    return query(con, "SELECT scrutin_id, SUM(votants) / SUM(inscrits) AS participation FROM fact_participation GROUP BY 1")


def shown_path(path: Path | str) -> str:
    """A path as a deliverable prints it: relative to the project home or to the code's folder, never a machine path."""
    path = Path(path)
    for base in (config.home(), config.PROJECT_DIR):
        if path.is_absolute() and path.is_relative_to(base):
            return str(path.relative_to(base)) or "."
    return path.name if path.is_absolute() else str(path)
