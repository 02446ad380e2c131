"""Edits along a set of directions: `edit_from` turns direction k of a set into an `Edit` (the
session's data type, in `eqviz.core.edits`, which also applies edits to ws)."""
from eqviz.core.edits import Edit
from eqviz.directions.basis import Directions
from eqviz.errors import InvalidArgument


def edit_from(directions: Directions, k: int, alpha: float, layers: tuple[int, int] | None = None) -> Edit:
    """Edit along direction k of a set, on its own layer range unless `layers` is given."""
    if not 0 <= k < len(directions):
        raise InvalidArgument(f"direction {k} does not exist; this set has directions 0 to {len(directions) - 1}", "edit")
    return Edit(direction=tuple(float(v) for v in directions.directions[k]), alpha=float(alpha),
                scale=float(directions.scales[k]), layers=tuple(layers or directions.layers),
                label=directions.label(k))
