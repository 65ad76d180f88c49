"""Electio: commune-level electoral-trend forecasting from public data."""

__version__ = "0.1.0"
