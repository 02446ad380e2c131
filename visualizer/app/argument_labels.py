"""The app's way of saying a library error about an argument: by the name its control has on screen.

The library names arguments as the API spells them (`InvalidArgument.argument`, e.g. `num_samples`);
the command line turns that into a flag (`eqviz.cli.main`), the app into the label of its field.
"""
from eqviz.errors import InvalidArgument

# Library argument -> the label of the app's control for it, where the plain words differ.
LABELS = {"num_samples": "samples", "batch_size": "batch", "max_memory": "memory limit", "class_idx": "class",
          "num_real": "real images", "angle_deg": "angle", "kinds": "motion"}


def label_of(argument: str) -> str:
    return LABELS.get(argument, argument.replace("_", " "))


def argument_message(exc: InvalidArgument) -> str:
    """'num_samples must be at least 1' -> 'samples must be at least 1'; other sentences get 'label: '."""
    return exc.naming(label_of(exc.argument))
