"""Measurements of a generator: equivariance (EQ-T, EQ-T frac, EQ-R) and texture sticking."""
