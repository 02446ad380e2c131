"""Options several commands share, and the checks every command runs before it imports torch.

Nothing here imports torch (or anything that does): `eqviz --help`, a missing file or a bad seed
list answer in a fraction of a second. Checks raise `InvalidArgument` naming the argument (the
parser's `dest`); `eqviz.cli.main` turns that into the flag the user typed.
"""
import argparse
import difflib
import os
from pathlib import Path

from eqviz.atomic_io import check_target, ensure_writable_folder
from eqviz.core.seeds import MAX_SEED
from eqviz.errors import EqvizError, InvalidArgument
from eqviz.metrics.names import DATA_METRICS, METRIC_LABELS
from eqviz.downloads.catalogue import BY_NAME as PUBLISHED_MODELS
from eqviz.downloads.sources import is_remote, local_file
from eqviz.networks.checkpoints.checkpoint_file import check_regular_file
from eqviz.networks.memory_guard import parse_memory_size

# Counts above these are refused up front: they are typos (an extra zero or three), not plans. The
# papers' largest protocol is 50,000 samples (the equivariance run keeps a few numbers per sample).
MAX_SAMPLES = 1_000_000
MAX_BATCH = 4096
MAX_KID_IMAGES = 200_000  # per side: KID keeps every image's Inception features, 8 kB each (1.6 GB here)


# ---- --max-memory ---------------------------------------------------------------------------------
def add_max_memory_argument(parser) -> None:
    parser.add_argument("--max-memory", metavar="SIZE", default=None,
                        help="memory eqviz may use to load a checkpoint and render a frame (the guard's estimate of "
                             "the peak), e.g. 24G; default 3/4 of this machine's memory")


def max_memory(args) -> int | None:
    """The option in bytes, or None for the library's default."""
    return None if args.max_memory is None else parse_memory_size(args.max_memory)


# ---- FID options (`eqviz fid`, `eqviz metrics`, `eqviz compare`) ------------------------------------
def add_fid_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inception", metavar="FILE", help="FID Inception weights (torch-fidelity's or pytorch-fid's .pth; default $EQVIZ_INCEPTION, else torch-fidelity's, downloaded once)")
    parser.add_argument("--pipeline", choices=("tf", "pytorch-fid"), default="tf",
                        help="tf: TF-1 resize, comparable with NVIDIA's/TF's FIDs (default); pytorch-fid: comparable with pytorch-fid's")
    parser.add_argument("--num-real", type=int, metavar="N", help="real images to use (default all: NVIDIA's _full protocols)")
    parser.add_argument("--resize-data", action="store_true",
                        help="resize real images to the generator's resolution (Lanczos); NVIDIA resizes nothing, so by default a mismatch is refused")
    parser.add_argument("--bootstrap", type=int, default=10, metavar="B",
                        help="bootstrap replicates for the FID's uncertainty (default 10, 33 MB each; 0: none)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write cached real-data statistics")


def check_fid_arguments(args) -> None:
    if args.inception is not None:
        existing_file(args.inception, "inception")
    if args.num_real is not None:
        check_count(args.num_real, "num_real", "real images", MAX_SAMPLES)
    check_count(args.bootstrap, "bootstrap", "bootstrap replicates", 1000, low=0)


def check_kid_counts(metrics, num_samples, num_real) -> None:
    """KID holds every image's features in memory: counts past MAX_KID_IMAGES per side are refused
    now, not when the features no longer fit (hours in). Protocol names and None (all real
    images, counted by the library) pass."""
    if "kid" not in metrics:
        return
    for value, argument in ((num_samples, "num_samples"), (num_real, "num_real")):
        if isinstance(value, int) and value > MAX_KID_IMAGES:
            raise InvalidArgument(f"KID keeps every image's Inception features (8 kB each), so {value:,} images are more "
                                  f"than the {MAX_KID_IMAGES:,} it takes per side; ask for fewer, or measure fid alone",
                                  argument)


def fid_options(args) -> dict:
    """The library arguments of the shared FID options."""
    return dict(inception=args.inception, pipeline=args.pipeline, num_real=args.num_real, resize_data=args.resize_data,
                bootstrap_replicates=args.bootstrap, use_cache=not args.no_cache)


def parse_metrics(text: str, choices=METRIC_LABELS) -> tuple:
    """A comma-separated list of metric names (as `--metrics` takes it), checked against `choices`."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [n for n in names if n not in choices]
    if unknown or not names:
        raise InvalidArgument(f"unknown metric {', '.join(unknown) or repr(text)}; choose from {', '.join(choices)}",
                              "metrics")
    return tuple(dict.fromkeys(names))


def needs_data(metrics) -> bool:
    """Whether any of the metrics compares with real images (fid, kid)."""
    return any(m in DATA_METRICS for m in metrics)


# ---- inputs, outputs and counts -------------------------------------------------------------------
def existing_file(path, argument: str) -> Path:
    """`path` if a file (or a device, pipe, ... the reader refuses with its own sentence) is there."""
    p = Path(path).expanduser()
    if not p.exists():
        raise InvalidArgument(f"{path} does not exist; check the path", argument)
    if p.is_dir():
        raise InvalidArgument(f"{path} is a folder; give a file", argument)
    return p


def existing_checkpoint(path, argument: str = "checkpoint") -> None:
    """A checkpoint argument, checked before torch loads: the one place every command checks them.
    A local file passes the loader's own first gate (a regular file, not a folder, pipe or device);
    a URL or a published model's name is fetched after every argument is checked (`fetch_downloads`);
    a missing path that is nearly a published name is named as the likely typo."""
    if is_remote(path):
        return
    path = local_file(path)
    if not Path(path).expanduser().exists():
        close = difflib.get_close_matches(str(path).strip().removesuffix(".pkl"), PUBLISHED_MODELS, n=1, cutoff=0.85)
        if close:
            raise InvalidArgument(f"{path} is neither a file nor a published model; did you mean {close[0]}? "
                                  "(eqviz models lists them)", argument)
    check_regular_file(path)


def fetch_downloads(args) -> None:
    """Downloads checkpoint arguments given as URLs or published names, and the public metric weights
    the command needs and was not given (with a progress display), once the command's arguments are
    all checked: a typo elsewhere never waits for a download."""
    from eqviz.cli.downloading import fetch_checkpoint_arguments, fetch_metric_weights

    fetch_checkpoint_arguments(args)
    fetch_metric_weights(args)


def existing_path(path, argument: str) -> Path:
    """A file or a folder (image folders, dataset zips, checkpoints) that exists."""
    p = Path(local_file(path)).expanduser()
    if not p.exists() and not is_remote(path):
        raise InvalidArgument(f"{path} does not exist; check the path", argument)
    return p


def output_file(path, overwrite: bool, argument: str, inputs=()) -> Path:
    """An output file that may be written: its folder exists and takes files, it is not there yet
    (or overwrite), not a folder, and not one of the command's `inputs` (--overwrite would replace
    the file being read). Checked before any work."""
    p = Path(path)
    if p.is_dir():
        raise InvalidArgument(f"{path} is a folder; give a file name", argument)
    if p.exists() and any(Path(q).exists() and os.path.samefile(p, q) for q in inputs if q is not None):
        raise InvalidArgument(f"{path} is also this command's input; write the output to another name", argument)
    try:
        return check_target(p, overwrite)
    except InvalidArgument:
        raise InvalidArgument(f"{path} already exists; pass --overwrite to replace it, or choose another name",
                              argument) from None
    except EqvizError as exc:  # its folder is missing or takes no files: say which flag
        raise InvalidArgument(str(exc), argument) from None


def output_folder(path, argument: str) -> Path:
    """A folder for outputs, checked and not yet created (a refusal later leaves nothing behind):
    refused when it is a file, or when it (or the folder it would be made in) takes no files."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InvalidArgument(f"{path} is a file; give a folder", argument)
    existing = next(q for q in (p, *p.absolute().parents) if q.exists())
    if not existing.is_dir():
        raise InvalidArgument(f"{existing} is a file, so the folder {path} cannot be made in it", argument)
    try:
        ensure_writable_folder(existing)
    except EqvizError as exc:
        raise InvalidArgument(str(exc), argument) from None
    return p


def parse_grid(text: str) -> tuple[int, int]:
    """'2x4' -> (rows, cols)."""
    try:
        rows, cols = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InvalidArgument(f"'{text[:40]}' is not ROWSxCOLS, e.g. 2x4", "grid") from None
    if rows < 1 or cols < 1:
        raise InvalidArgument(f"'{text}' must have at least one row and one column", "grid")
    return rows, cols


def check_count(value: int, argument: str, what: str, high: int, low: int = 1) -> int:
    """`value` within [low, high], or one sentence saying the range."""
    if not low <= value <= high:
        raise InvalidArgument(f"{value:,} {what} is outside {low:,} to {high:,}", argument)
    return value


def session_file(path):
    """The session saved at `path`, read while the arguments are checked (no torch); a refusal names
    --session, since the sentence speaks of a field the user never typed."""
    from eqviz.core.session import Session

    try:
        return Session.load(path)
    except EqvizError as exc:
        raise InvalidArgument(str(exc), "session") from None


def blamed_on_flag(check, field: str, dest: str):
    """check() (a session's validate() after a flag set `field`), its refusal blamed on that flag
    (`dest`): the session's sentence names its field ('session field psi must ...'), this one the
    flag ('--psi must ...' once the CLI names `dest`)."""
    try:
        return check()
    except EqvizError as exc:
        text = str(exc).removeprefix("session field ")
        raise InvalidArgument(dest + text[len(field):] if text.startswith(field + " ") else text, dest) from None


def check_seed(value: int, argument: str = "seed") -> int:
    if not 0 <= value <= MAX_SEED:
        raise InvalidArgument(f"{value} is out of range; seeds go from 0 to {MAX_SEED} (2^32 - 1)", argument)
    return value
