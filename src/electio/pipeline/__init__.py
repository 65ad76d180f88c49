"""Pipelines wiring the stages: sources → parse → harmonise → warehouse."""
