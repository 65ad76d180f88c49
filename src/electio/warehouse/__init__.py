"""The warehouse: DDL and atomic writes of the star schema."""
