"""Forecasts at 1, 2 and 3 years and for the next présidentielle, with uncertainty and what-if scenarios."""
