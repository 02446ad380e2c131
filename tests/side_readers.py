"""Every reader of a file eqviz did not write, as one function of a path, for the fuzz runner.

Each returns a short summary when the file is read and raises an EqvizError when it is refused;
`prepare` loads the generator the session, W and direction readers check against (NVIDIA's 64-px
StyleGAN2 reference), once per worker, before children are forked.
"""
from pathlib import Path

_state = {}


def prepare(reference: Path) -> None:
    if "G" not in _state:
        from eqviz.networks import load_generator

        _state["G"] = load_generator(reference / "pkl" / "sg2_64.pkl")


def _target(path):
    from eqviz.projection.targets import load_target

    return f"target {load_target(path, 64, 3).shape}"


def _fid_data(path):
    from eqviz.metrics.fid.sources import ImageData

    data = ImageData(path)
    return f"{data.describe()}: {tuple(data.images(range(len(data))).shape)}, digest {data.content_digest()[:8]}"


def _session(path):
    from eqviz.core.latents import session_ws
    from eqviz.core.session import Session

    session = Session.load(path)
    session.w_path = None  # the W file reader is fuzzed on its own
    return f"session ws {tuple(session_ws(_state['G'], session).shape)}"


def _w(path):
    from eqviz.core.latents import load_w

    return f"W {tuple(load_w(path, _state['G']).shape)}"


def _directions(path):
    from eqviz.directions.files import load_directions

    return f"{len(load_directions(path, _state['G']))} directions"


def _inception(path):
    from eqviz.metrics.fid.inception import read_inception_state

    return f"{len(read_inception_state(path))} tensors"


def _lpips(path):
    from eqviz.errors import EqvizError
    from eqviz.projection.lpips import load_lpips

    try:
        load_lpips(path, path)
    except EqvizError as exc:
        if "lacks" in str(exc):  # read, and not the LPIPS file: the reader itself accepted it
            return "read (not LPIPS weights)"
        raise
    return "LPIPS loaded"


READERS = {"target": _target, "fid_data": _fid_data, "session": _session, "w": _w, "directions": _directions,
           "inception": _inception, "lpips": _lpips}
