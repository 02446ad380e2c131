"""The synthesis noise inputs' modes; a leaf (no torch), so the command line offers them before torch loads."""
NOISE_MODES = ("const", "random", "none")  # the stored buffers, fresh draws, or none
