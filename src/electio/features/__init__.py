"""Features: the commune × ballot modelling table (targets and leak-free features)."""
