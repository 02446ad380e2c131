"""The render thread: owns torch and the generator; the UI only posts requests and polls results.

Latest request wins: a request posted while another renders replaces any still waiting, so the
worker never falls behind the sliders, and the UI drops any result older than the one on screen.
Checkpoint loads go through the same thread (torch stays on one thread); a failed load reports its
sentence and keeps the previous model. This module never imports Dear PyGui.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import torch

from eqviz.errors import EqvizError
from eqviz.networks.memory_guard import MemoryLimitError
from eqviz.app.frame_renderer import FrameRenderer, RenderRequest, RenderResult
from eqviz.app.model import ModelInfo, describe_generator, load_model


@dataclass
class LoadResult:
    path: str
    info: ModelInfo | None = None   # set on success
    error: str | None = None        # one sentence on failure (the previous model stays)
    seconds: float = 0.0
    memory_needed: int | None = None  # bytes, when the memory guard refused it (the app offers a higher limit)


class RenderWorker:
    def __init__(self, device: str = "cpu", on_result=None):
        self.device = device
        self._on_result = on_result      # called on the worker thread after each result (wakes the UI)
        self._cond = threading.Condition()
        self._pending_request: RenderRequest | None = None
        self._pending_load: tuple[str, int | None] | None = None  # (path, memory limit)
        self._pending_model = None       # (G, info) handed over by tests / scripts
        self._outbox: list = []
        self._result_ready = threading.Event()  # lets the UI loop wake the moment a frame is done
        self._stop = False
        self._busy = False
        self._model_lock = threading.Lock()  # held while rendering; render_here waits on it
        self._renderer: FrameRenderer | None = None
        self._thread = threading.Thread(target=self._run, name="eqviz-render", daemon=True)

    # -- called from the UI thread --------------------------------------------------------------
    def start(self) -> "RenderWorker":
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop the thread after the frame it renders; True once it has ended within `timeout`."""
        with self._cond:
            self._stop = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def submit(self, request: RenderRequest) -> None:
        with self._cond:
            self._pending_request = request
            self._cond.notify()

    def load(self, path: str, max_memory: int | None = None) -> None:
        with self._cond:
            self._pending_load = (str(path), max_memory)
            self._cond.notify()

    def use_generator(self, G, path: str = "<in memory>") -> None:
        """Render with an already built generator (tests, benchmarks)."""
        with self._cond:
            self._pending_model = (G, path)
            self._cond.notify()

    @property
    def busy(self) -> bool:
        """Something is waiting, running, or finished but not yet taken by `poll`."""
        with self._cond:
            return (self._busy or self._pending_request is not None or self._pending_load is not None
                    or bool(self._outbox))

    def poll(self) -> list:
        """Everything finished since the last poll: LoadResults, and only the newest RenderResult."""
        with self._cond:
            out, self._outbox = self._outbox, []
        frames = [r for r in out if isinstance(r, RenderResult)]
        others = [r for r in out if not isinstance(r, RenderResult)]
        return others + frames[-1:]

    def wait_for_result(self, timeout: float) -> None:
        """Sleep up to `timeout` seconds, waking early when something finished (UI frame pacing)."""
        if self._result_ready.wait(timeout):
            self._result_ready.clear()

    def render_here(self, request: RenderRequest) -> RenderResult:
        """Render on the calling thread, waiting for the worker's current frame (benchmarks: the same
        frame with no UI drawing beside it)."""
        with self._model_lock:
            return self._render(request)

    def generator(self):
        """The generator being rendered, for background jobs to read alongside (None before a load)."""
        renderer = self._renderer
        return None if renderer is None else renderer.G

    # -- the worker thread ----------------------------------------------------------------------
    def _run(self) -> None:
        torch.set_grad_enabled(False)
        while True:
            with self._cond:
                while not (self._stop or self._pending_load or self._pending_model or self._pending_request):
                    self._cond.wait()
                if self._stop:
                    return
                # One job per turn, models before frames: a frame asked before a load is for the new model.
                load = model = request = None
                if self._pending_model is not None:
                    model, self._pending_model = self._pending_model, None
                elif self._pending_load is not None:
                    load, self._pending_load = self._pending_load, None
                else:
                    request, self._pending_request = self._pending_request, None
                self._busy = True
            try:
                if model is not None:
                    item = self._adopt(*model)
                elif load is not None:
                    item = self._load(*load)
                else:
                    with self._model_lock:
                        item = self._render(request)
            finally:
                with self._cond:
                    self._busy = False
            if item is not None:
                with self._cond:
                    self._outbox.append(item)
                self._result_ready.set()
                if self._on_result is not None:
                    self._on_result()

    def _adopt(self, G, path: str) -> LoadResult:
        info = describe_generator(G, path, self.device)
        with self._model_lock:
            self._renderer = FrameRenderer(G, self.device)
        return LoadResult(path=path, info=info)

    def _load(self, path: str, max_memory: int | None = None) -> LoadResult:
        t0 = time.perf_counter()
        try:
            G, info = load_model(path, self.device, max_memory)
        except MemoryLimitError as exc:
            return LoadResult(path=path, error=str(exc), seconds=time.perf_counter() - t0, memory_needed=exc.needed)
        except EqvizError as exc:
            return LoadResult(path=path, error=str(exc), seconds=time.perf_counter() - t0)
        except MemoryError:
            return LoadResult(path=path, error=f"out of memory loading {path}; it is too large for this machine")
        except torch.cuda.OutOfMemoryError:
            return LoadResult(path=path, error=f"{path} does not fit in GPU memory; use the CPU or a smaller model")
        except Exception as exc:  # noqa: BLE001 -- a loader bug on a hostile file must not kill the render thread
            return LoadResult(path=path, error=f"could not load {path} ({type(exc).__name__}: {exc}); "
                              "it is not a checkpoint eqviz can read")
        with self._model_lock:
            self._renderer = FrameRenderer(G, self.device)
        return LoadResult(path=path, info=info, seconds=time.perf_counter() - t0)

    def _render(self, request: RenderRequest) -> RenderResult:
        if self._renderer is None:
            return RenderResult(stamp=request.stamp, submitted_at=request.submitted_at,
                                error="no checkpoint is loaded; open one with Ctrl+O", finished_at=time.perf_counter())
        return self._renderer.render(request)
