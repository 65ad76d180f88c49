"""Parsers of the raw election files: one module per source layout."""
