"""Data-quality contracts on staging and fact tables."""
