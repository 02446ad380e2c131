"""What `render_sticking` is asked to make; a leaf without torch, so `eqviz sticking` states its
defaults (and checks its arguments) before the renderer is loaded."""
import dataclasses

from eqviz.errors import InvalidArgument
from eqviz.video.limits import check_tile
from eqviz.video.targets import DEFAULT_CRF, check_crf

STACK_MOTIONS = ("auto", "translate", "walk")
MAX_SAMPLES = 100_000       # long exposure: the latents are drawn at once (z_dim floats each)
MAX_STACK_FRAMES = 16_384   # column stack: one pixel column per frame
MAX_SEEDS = 1024            # each seed is a figure (three files, a line of the summary): more is a typo


@dataclasses.dataclass
class StickingSpec:
    checkpoints: list                # side by side: checkpoint paths, loaded generators or (name, generator) pairs
    seeds: list[int]                 # one set of outputs per seed
    outdir: str                      # created if missing
    samples: int = 64                # long exposure: images averaged
    sigma: float = 0.2               # long exposure: std of the Z perturbations around the seed
    frames: int = 120                # column stack: video length (= width of the stack in pixels)
    distance: float = 0.25           # column stack: translation over the video, in image widths
    stack_motion: str = "auto"       # translate (input transform), walk (seed -> seed+1 in W), auto
    fps: float = 30.0
    size: int | None = None          # panel height in pixels (default: the largest generator's resolution)
    psi: float = 1.0
    cutoff: int | None = None
    noise_mode: str = "const"
    class_idx: int | None = None
    crf: int = DEFAULT_CRF
    batch: int = 16                  # images synthesised per call for the long exposure
    device: str = "cpu"
    overwrite: bool = False


def check_spec(spec: StickingSpec) -> None:
    """Refuses settings that cannot make the views, before any generator is loaded."""
    if not spec.seeds:
        raise InvalidArgument("give at least one seed, e.g. 0-3.", "seeds")
    if len(spec.seeds) > MAX_SEEDS:
        raise InvalidArgument(f"{len(spec.seeds):,} seeds are more than the {MAX_SEEDS:,} figures one run makes; "
                              "give fewer seeds, e.g. 0-7.", "seeds")
    if not 2 <= spec.samples <= MAX_SAMPLES:
        raise InvalidArgument(f"a long exposure averages 2 to {MAX_SAMPLES:,} images, got {spec.samples:,} samples.",
                              "samples")
    if not 2 <= spec.frames <= MAX_STACK_FRAMES:
        raise InvalidArgument(f"a column stack has 2 to {MAX_STACK_FRAMES:,} frames, got {spec.frames:,}.", "frames")
    if not spec.sigma > 0:
        raise InvalidArgument(f"the perturbation sigma must be positive, got {spec.sigma}.", "sigma")
    if spec.batch < 1:
        raise InvalidArgument(f"batch must be at least 1, got {spec.batch}.", "batch")
    check_tile(spec.size)
    check_crf(spec.crf)
