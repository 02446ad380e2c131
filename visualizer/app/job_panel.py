"""The part every job panel shares: Run and Cancel buttons, a progress bar, what the run is about,
and how a job ends.

A job ends in one of four ways, each shown the same way in every panel: done (the bar full, at its
final count), cancelled (the bar says "cancelled at N of T"; a status line, not an error; a partial
result is still shown), failed (one red sentence in the status line), or stale: another model was
opened while it ran (eqviz.app.lifecycle), and nothing of it is shown.
"""
from __future__ import annotations

import dearpygui.dearpygui as dpg

from eqviz.app.panel import JobHandle, JobOutcome, Panel, PanelContext
from eqviz.app.widgets import grey_when_disabled, path_row

ABOUT_COLOUR = (150, 150, 150)


def final_text(outcome: JobOutcome) -> str:
    """What the progress bar says once a job has ended."""
    if outcome.stale:
        return f"stopped: {outcome.model or 'its model'} was closed"
    if outcome.error is not None:
        return "failed"
    if outcome.cancelled_at is not None:
        return f"cancelled at {outcome.cancelled_at} of {outcome.total}"
    return f"done: {outcome.total}/{outcome.total}" if outcome.total else "done"


class JobPanel(Panel):
    """Base of a panel that runs one background job at a time. Subclasses set `job_name` and
    `tag_prefix`, call `build_job_controls` inside `build`, start work with `start`, show results in
    `show_result` and take them off screen in `clear_result`."""

    job_name: str = ""    # e.g. "video export", used in status lines
    tag_prefix: str = ""  # item tags: <prefix>_<run_suffix>, <prefix>_cancel, <prefix>_progress, <prefix>_about
    run_suffix: str = "run"
    run_label: str = "Run"
    kept_on_cancel: str = ""  # what a cancelled run still writes (closing the window waits for it)

    def __init__(self):
        self.job: JobHandle | None = None
        self._about = ""  # "<model>: <settings>" of the run in progress or of the result shown

    @property
    def tags(self) -> tuple[str, str, str]:
        p = self.tag_prefix
        return f"{p}_{self.run_suffix}", f"{p}_cancel", f"{p}_progress"

    def build_job_controls(self, ctx: PanelContext) -> None:
        run, cancel, progress = self.tags
        with dpg.group(horizontal=True):
            dpg.add_button(label=self.run_label, tag=run, callback=lambda *_: self.run(ctx))
            dpg.add_button(label="Cancel", tag=cancel, enabled=False, callback=lambda *_: self.cancel())
            grey_when_disabled(cancel)  # Cancel looks disabled while nothing runs
        dpg.add_progress_bar(tag=progress, default_value=0.0, width=-1, overlay="")
        # The model and settings of the run in progress, then of the result on screen.
        dpg.add_text("", tag=f"{self.tag_prefix}_about", wrap=0, color=ABOUT_COLOUR, show=False)

    def build_folder_job_controls(self, ctx: PanelContext, dialog_label: str, outdir: str, overwrite: bool) -> None:
        """For a job that writes a folder: <prefix>_outdir with Browse..., <prefix>_overwrite, the job
        controls, and the <prefix>_result line."""
        p = self.tag_prefix
        path_row(f"{p}_outdir", dialog_label, (".*",), outdir, directory=True)
        dpg.add_checkbox(label="overwrite", tag=f"{p}_overwrite", default_value=overwrite)
        self.build_job_controls(ctx)
        dpg.add_text("", tag=f"{p}_result", wrap=0)

    def run(self, ctx: PanelContext) -> None:
        """The Run button: read the settings and `start` the job (or say in the status line why not)."""
        raise NotImplementedError

    def start(self, ctx: PanelContext, body, status: str, about: str = "") -> None:
        """Starts `body(handle)` in the background unless a job of this panel is running. `about`
        names the run's settings; with the model's name it stays beside the result."""
        if self.job is not None:
            return
        run, cancel, progress = self.tags
        self.clear_result(ctx)
        self.job = ctx.start_job(self.job_name, body, lambda outcome: self.finished(ctx, outcome))
        self.job.kept_on_cancel = self.kept_on_cancel
        model = ctx.model.label if ctx.model is not None else ""
        self._about = f"{model}: {about}" if about else model
        self._show_about(f"running on {self._about}")
        dpg.configure_item(run, enabled=False)
        dpg.configure_item(cancel, enabled=True)
        dpg.set_value(progress, 0.0)
        dpg.configure_item(progress, overlay="")
        ctx.set_status(status)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def finished(self, ctx: PanelContext, outcome: JobOutcome) -> None:
        """Main thread: the job ended; the bar shows how, then the subclass shows the result."""
        self.job = None
        run, cancel, progress = self.tags
        dpg.configure_item(run, enabled=True)
        dpg.configure_item(cancel, enabled=False)
        dpg.configure_item(progress, overlay=final_text(outcome))
        if outcome.stale:
            dpg.set_value(progress, 0.0)
            self._show_about("")
            self.discarded(ctx, outcome)
            return
        if outcome.error is None and outcome.cancelled_at is None:
            dpg.set_value(progress, 1.0)
        ended = ""
        if outcome.error is not None:
            ended = f" ({final_text(outcome)}: {outcome.error})"  # the reason stays beside the run
        elif outcome.cancelled_at is not None:
            ended = f" ({final_text(outcome)})"
        self._show_about(self._about + ended)
        if outcome.error is not None:
            ctx.set_status(outcome.error, error=True)
            return
        if outcome.cancelled_at is not None:
            ctx.set_status(f"{self.job_name} {final_text(outcome)}")
        if outcome.result is not None:
            self.show_result(ctx, outcome.result, complete=outcome.cancelled_at is None)

    def discarded(self, ctx: PanelContext, outcome: JobOutcome) -> None:
        """Main thread: a job of a model that was replaced ended; nothing of it is shown (a panel whose
        job wrote files on cancel may say where they went)."""
        ctx.set_status(f"{self.job_name} of {outcome.model} stopped: another model was opened")

    def show_result(self, ctx: PanelContext, result, complete: bool) -> None:
        """Main thread: show what the job made (`complete` False for a cancelled job's partial result)."""

    def clear_result(self, ctx: PanelContext) -> None:
        """Main thread: take the shown result off screen (a new run starts, or its model was replaced)."""

    def forget_model(self, ctx: PanelContext) -> None:
        self.clear_result(ctx)
        self._show_about("")
        run, cancel, progress = self.tags
        if self.job is None:
            dpg.set_value(progress, 0.0)
            dpg.configure_item(progress, overlay="")

    def _show_about(self, text: str) -> None:
        tag = f"{self.tag_prefix}_about"
        dpg.set_value(tag, text)
        dpg.configure_item(tag, show=bool(text))

    def refresh(self, ctx: PanelContext) -> None:
        if self.job is not None:
            progress = self.tags[2]
            dpg.set_value(progress, self.job.fraction)
            dpg.configure_item(progress, overlay=self.job.text)
