"""Projection of the user's own images into a generator's W or W+ space (the optimisation, its losses,
target preparation and outputs)."""
