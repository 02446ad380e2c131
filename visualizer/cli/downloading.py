"""What a command must download before it runs (checkpoints given as URLs or published names, metric
weights not given), fetched with the commands' progress display (the library would fetch them too,
silently)."""
import os

from eqviz.cli.progress import ProgressDisplay

# Arguments that name checkpoints (`eqviz fid A B` takes folders and zips too: those stay as they are).
CHECKPOINT_ARGUMENTS = ("checkpoint", "checkpoints", "source", "a", "b")


def fetched(source: str) -> str:
    """`source` as a local path: downloaded (once, with a progress bar) when it is remote."""
    from eqviz.downloads.catalogue import find_model
    from eqviz.downloads.fetch import local_checkpoint
    from eqviz.downloads.sources import is_remote, local_file

    if not is_remote(source):
        return local_file(source)  # a file:// URL: the file it names
    model = find_model(source)
    label = f"downloading {model.name if model else source.rsplit('/', 1)[-1]}"
    return with_progress(label, lambda progress: local_checkpoint(source, progress=progress))


def with_progress(label: str, fetch) -> str:
    """fetch(progress) with the progress display in bytes; its local path."""
    with ProgressDisplay(label, unit="B", unit_scale=True) as display:
        return str(fetch(lambda done, total: total and display.update(done, total)))


def fetch_checkpoint_arguments(args) -> None:
    """Replaces every remote checkpoint argument of a parsed command line by its local file."""
    for name in CHECKPOINT_ARGUMENTS:
        value = getattr(args, name, None)
        if isinstance(value, str):
            setattr(args, name, fetched(value))
        elif isinstance(value, list):
            setattr(args, name, [fetched(v) if isinstance(v, str) else v for v in value])


def needs_inception(args) -> bool:
    """Whether the command measures FID or KID without an Inception file given."""
    from eqviz.downloads.weights import INCEPTION_ENV

    if getattr(args, "inception", "not an FID command") is not None or os.environ.get(INCEPTION_ENV):
        return False
    if args.command == "fid":
        return True
    named = {m.strip() for m in (getattr(args, "metrics", None) or "fid").split(",")}  # compare: all by default
    return bool(getattr(args, "data", None)) and bool(named & {"fid", "kid"})


def fetch_metric_weights(args) -> None:
    """The public Inception or LPIPS weights the command needs and was not given, into its arguments."""
    from eqviz.downloads.weights import INCEPTION_URL, LPIPS_LIN_URL, VGG16_URL, fetch_weights

    wanted = [("inception", INCEPTION_URL)] if needs_inception(args) else []
    if "lpips" in (getattr(args, "loss", None) or ""):
        wanted += [(name, url) for name, url in (("lpips_vgg", VGG16_URL), ("lpips_lin", LPIPS_LIN_URL))
                   if getattr(args, name, None) is None]
    for name, url in wanted:
        label = f"downloading {url.rsplit('/', 1)[-1]}"
        setattr(args, name, with_progress(label, lambda progress: fetch_weights(url, progress=progress)))
