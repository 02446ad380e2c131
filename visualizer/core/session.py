"""The explorer's whole state as one JSON document, shared by the app, `eqviz render` and `eqviz video`.

A user who finds a good seed and transform in the app saves a session, and the same file renders
the same frame from the command line or starts a video there.
"""
import dataclasses
import json
import math
from pathlib import Path

from eqviz.core.edits import Edit
from eqviz.errors import EqvizError, first_line
from eqviz.networks.noise_modes import NOISE_MODES
from eqviz.atomic_io import write_text
from eqviz.untrusted.messages import short_text
from eqviz.untrusted.files import FileKind
from eqviz.untrusted.json_text import load_json

SESSION_FORMAT = "eqviz-session/1"
INTERP_SPACES = ("w", "z")
SESSION_FILE = FileKind("session file", 4 << 20, "pass a session .json saved by eqviz")
MAX_TEXT = 4096            # characters of a path or label in a session
MAX_WS_INDEX = 1024        # ws indices (mix_range, mix_layers, cutoff): models have at most a few dozen
MAX_SEED = 2 ** 32 - 1     # seeds, as NVIDIA's tools take them
MAX_COORDINATE = 1e6       # |translate| in image sizes, |rotate_deg|
MAX_FACTOR = 100.0         # |psi|, |interp_t|: factors that extrapolate W; far beyond any useful picture
MAX_EDITS = 1024
# Fields that change how ws are synthesised, posed or shown, never ws themselves. Every other field is
# part of `Session.latent_key`, so a new field can cost a needless recompute, never a stale frame.
NOT_IN_WS = frozenset({"noise_mode", "noise_seed", "translate", "rotate_deg", "untransform", "view"})


def hashable(value):
    """Lists (and tuples of lists) as tuples, so a field's value can be part of a key."""
    return tuple(hashable(v) for v in value) if isinstance(value, (list, tuple)) else value


def file_stamp(path) -> object:
    """A W file's modification time (a file saved again gives new ws), "missing" when it cannot be read."""
    try:
        return Path(path).stat().st_mtime_ns
    except OSError:
        return "missing"  # session_ws raises the sentence for it


@dataclasses.dataclass
class Session:
    checkpoint: str | None = None         # path of the checkpoint the session was made with
    latent_x: float = 0.0                 # seed; a fractional value blends neighbouring seeds in W
    latent_y: float = 0.0                 # second seed-grid axis: grid point (i, j) is seed i + 100 j
    psi: float = 1.0                      # truncation psi (1 = none)
    cutoff: int | None = None             # truncate only the first `cutoff` ws (None = all)
    noise_mode: str = "const"             # StyleGAN2 noise inputs: const / random / none
    noise_seed: int = 0                   # 'random' noise is drawn from this seed (new noise: a new seed)
    class_idx: int | None = None          # class of a conditional model (None = unconditional)
    mix_seed: int | None = None           # style mixing: ws in mix_range come from this seed
    mix_range: tuple[int, int] = (8, 16)  # [first, last) ws index taken from mix_seed
    mix_layers: tuple[int, ...] | None = None  # ws indices taken from mix_seed one by one (None: mix_range)
    seed_b: int | None = None             # A<->B interpolation target seed (None = off)
    interp_t: float = 0.0                 # 0 = seed A, 1 = seed B
    interp_space: str = "w"               # lerp in W or slerp in Z
    w_path: str | None = None             # a projected W vector (.npy / .npz) that replaces the seed
    translate: tuple[float, float] = (0.0, 0.0)  # input-transform translation, image-size units
    rotate_deg: float = 0.0               # input-transform rotation, degrees counter-clockwise
    untransform: bool = False             # show the output transformed back (equivariance check)
    view: dict = dataclasses.field(default_factory=dict)  # the app's free-form view settings
    edits: list = dataclasses.field(default_factory=list)  # Edit moves along directions, after truncation

    @property
    def seed(self) -> int:
        """The integer seed the session is nearest to from below (the A seed)."""
        return int(math.floor(self.latent_x)) + 100 * int(math.floor(self.latent_y))

    def latent_key(self) -> tuple:
        """Everything `session_ws` reads, hashable: equal keys give equal ws (a renderer's cache key)."""
        values = tuple(hashable(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name not in NOT_IN_WS)
        return values + (None if self.w_path is None else file_stamp(self.w_path),)

    def validate(self) -> "Session":
        for name in ("latent_x", "latent_y", "psi", "interp_t", "rotate_deg"):
            if not math.isfinite(getattr(self, name)):
                raise EqvizError(f"session field {name} must be a finite number, got {getattr(self, name)!r}")
        for name, limit in (("psi", MAX_FACTOR), ("interp_t", MAX_FACTOR), ("rotate_deg", MAX_COORDINATE)):
            if abs(getattr(self, name)) > limit:
                raise EqvizError(f"session field {name} must be within +-{limit:g}, got {getattr(self, name)!r}")
        for name in ("latent_x", "latent_y"):
            if abs(getattr(self, name)) > MAX_SEED:
                raise EqvizError(f"session field {name} must be a seed-grid position within +-{MAX_SEED}, got "
                                 f"{getattr(self, name)!r}")
        if not all(math.isfinite(v) and abs(v) <= MAX_COORDINATE for v in self.translate):
            raise EqvizError(f"session field translate must be two finite numbers within +-{MAX_COORDINATE:g}, got "
                             f"{self.translate!r}")
        if self.noise_mode not in NOISE_MODES:
            raise EqvizError(f"noise_mode must be one of {', '.join(NOISE_MODES)}, got {short_text(self.noise_mode)}")
        if self.interp_space not in INTERP_SPACES:
            raise EqvizError(f"interp_space must be 'w' or 'z', got {short_text(self.interp_space)}")
        for name in ("noise_seed", "mix_seed", "seed_b", "class_idx"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= MAX_SEED:
                raise EqvizError(f"session field {name} must be between 0 and {MAX_SEED}, got {short_text(value)}")
        if self.cutoff is not None and not 0 <= self.cutoff <= MAX_WS_INDEX:
            raise EqvizError(f"cutoff must be a layer count between 0 and {MAX_WS_INDEX}, got {short_text(self.cutoff)}")
        if not 0 <= self.mix_range[0] <= self.mix_range[1] <= MAX_WS_INDEX:
            raise EqvizError(f"mix_range must be [first, last) with 0 <= first <= last <= {MAX_WS_INDEX}, got "
                             f"[{short_text(self.mix_range[0])}, {short_text(self.mix_range[1])}]")
        if self.mix_layers is not None and (len(self.mix_layers) > MAX_WS_INDEX
                                            or any(not 0 <= i < MAX_WS_INDEX for i in self.mix_layers)):
            raise EqvizError(f"mix_layers must be at most {MAX_WS_INDEX} ws indices between 0 and {MAX_WS_INDEX - 1}")
        for name in ("checkpoint", "w_path"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and len(value) <= MAX_TEXT):
                raise EqvizError(f"session field {name} must be a path of at most {MAX_TEXT} characters")
        if not isinstance(self.view, dict):
            raise EqvizError("session field view must be a JSON object")
        if not all(isinstance(edit, Edit) for edit in self.edits):
            raise EqvizError("session field edits must hold Edit objects (eqviz.core.edits)")
        return self

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["translate"], d["mix_range"] = list(self.translate), list(self.mix_range)
        d["mix_layers"] = None if self.mix_layers is None else list(self.mix_layers)
        d["edits"] = [edit.to_dict() for edit in self.edits]
        return {"format": SESSION_FORMAT, **d}

    @classmethod
    def from_dict(cls, d: dict) -> "Session":
        if not isinstance(d, dict) or d.get("format") != SESSION_FORMAT:
            raise EqvizError(f"not an eqviz session (expected \"format\": \"{SESSION_FORMAT}\")")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - set(fields) - {"format"})
        if unknown:
            raise EqvizError(f"unknown session field(s) {', '.join(short_text(k, 40) for k in unknown[:5])}; was it "
                             "written by a newer eqviz?")
        kwargs = {k: v for k, v in d.items() if k in fields}
        try:
            for name in ("translate", "mix_range"):
                if name in kwargs:
                    a, b = kwargs[name]
                    kwargs[name] = (float(a), float(b)) if name == "translate" else (int(a), int(b))
            for name in ("latent_x", "latent_y", "psi", "interp_t", "rotate_deg"):
                if name in kwargs:
                    kwargs[name] = float(kwargs[name])
            if kwargs.get("mix_layers") is not None:
                kwargs["mix_layers"] = tuple(int(i) for i in kwargs["mix_layers"])
            if "noise_seed" in kwargs:
                kwargs["noise_seed"] = int(kwargs["noise_seed"])
            for name in ("cutoff", "class_idx", "mix_seed", "seed_b"):
                if kwargs.get(name) is not None:
                    kwargs[name] = int(kwargs[name])
            if not isinstance(kwargs.get("edits", []), list) or len(kwargs.get("edits", [])) > MAX_EDITS:
                raise ValueError(f"edits must be a list of at most {MAX_EDITS}")
            if "edits" in kwargs:
                kwargs["edits"] = [Edit.from_dict(edit) for edit in kwargs["edits"]]
        except (TypeError, ValueError, OverflowError) as exc:
            raise EqvizError(f"session has a field of the wrong type ({first_line(exc)})") from None
        return cls(**kwargs).validate()

    @classmethod
    def load(cls, path) -> "Session":
        return cls.from_dict(load_json(path, SESSION_FILE, max_string=MAX_TEXT))

    def save(self, path) -> None:
        write_text(path, json.dumps(self.validate().to_dict(), indent=2) + "\n")
