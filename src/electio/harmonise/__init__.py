"""Harmonisation: referentials that put every source on common keys (COG 2026 communes, blocs)."""
