"""Small pandas / DuckDB helpers shared by several stages."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def isin(values: pd.Series, allowed: Iterable[object]) -> pd.Series:
    """``values.isin(allowed)`` for text columns, computed by Arrow.

    pandas' Arrow-backed ``isin`` converts the allowed values one by one (~65 ms for the
    35,000 commune codes, on every ballot); ``pyarrow.compute.is_in`` takes the set at once.
    """
    array = pa.array(values.astype("string[pyarrow]"))
    allowed_array = pa.array([str(v) for v in allowed], type=array.type)
    found = pc.fill_null(pc.is_in(array, value_set=allowed_array), False)
    return pd.Series(np.asarray(found), index=values.index)


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, frame: object, name: str = "_frame") -> Iterator[str]:
    """Expose a pandas frame or Arrow table to DuckDB as view ``name`` for the duration of a block."""
    con.register(name, frame)
    try:
        yield name
    finally:
        con.unregister(name)
