"""Supervised models of bloc shares by commune: baselines, learners, backtests, metrics, intervals."""
