"""Progress of a long job as every job reports it: units done of a total, and the time so far."""
import dataclasses
import math

from eqviz.errors import stop_if_cancelled


@dataclasses.dataclass
class Progress:
    done: int           # units finished (frames, images, samples)
    total: int          # units the job will do
    elapsed_s: float    # seconds since the job started
    unit: str = "frame"  # what one unit is, for the text

    @property
    def rate(self) -> float:
        """Units per second so far."""
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float:
        return (self.total - self.done) / self.rate if self.done else math.inf

    def __str__(self) -> str:
        eta = "?" if math.isinf(self.eta_s) else f"{self.eta_s:.0f}s"
        return f"{self.unit} {self.done}/{self.total}  {self.rate:.1f}/s  ETA {eta}"


class UnitCount:
    """A job's units done of `total`: every `advance` (`advance(0)` at the start) tells `progress(done, total)`
    and checks `cancel` (raising eqviz.errors.Cancelled naming `what`)."""

    def __init__(self, what: str, total: int, progress=None, cancel=None):
        self.what, self.total, self.done, self.progress, self.cancel = what, total, 0, progress, cancel

    def advance(self, n: int) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(self.done, self.total)
        stop_if_cancelled(self.cancel, self.what, self.done, self.total)
