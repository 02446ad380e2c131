"""Checkpoint arguments given as URLs or published names, downloaded before a command runs, with
the commands' progress display (the library would fetch them too, silently)."""
from eqviz.cli.progress import ProgressDisplay

# Arguments that name checkpoints (`eqviz fid A B` takes folders and zips too: those stay as they are).
CHECKPOINT_ARGUMENTS = ("checkpoint", "checkpoints", "source", "a", "b")


def fetched(source: str) -> str:
    """`source` as a local path: downloaded (once, with a progress bar) when it is remote."""
    from eqviz.downloads.catalogue import find_model
    from eqviz.downloads.fetch import is_remote, local_checkpoint

    if not is_remote(source):
        return source
    model = find_model(source)
    label = f"downloading {model.name if model else source.rsplit('/', 1)[-1]}"
    with ProgressDisplay(label, unit="B", unit_scale=True) as display:
        return str(local_checkpoint(source, progress=lambda done, total: total and display.update(done, total)))


def fetch_checkpoint_arguments(args) -> None:
    """Replaces every remote checkpoint argument of a parsed command line by its local file."""
    for name in CHECKPOINT_ARGUMENTS:
        value = getattr(args, name, None)
        if isinstance(value, str):
            setattr(args, name, fetched(value))
        elif isinstance(value, list):
            setattr(args, name, [fetched(v) if isinstance(v, str) else v for v in value])
