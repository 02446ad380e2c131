"""A projection's files, as NVIDIA's projector names them, each written atomically:
projected_w.npz (`w`: [1, num_ws, w_dim]), proj.png, target.png and optionally proj.mp4, the
optimisation as a video (target | projection side by side, one frame per recorded step)."""
from pathlib import Path

import numpy as np
import torch

from eqviz.atomic_io import check_target, ensure_writable_folder, save_png
from eqviz.core.image_quality import psnr_db
from eqviz.core.images import images_to_rgb8, to_uint8
from eqviz.core.input_transform import synthesize
from eqviz.core.latents import save_w
from eqviz.errors import EqvizError
from eqviz.projection.files import IMAGE_FILE, TARGET_FILE, VIDEO_FILE, W_FILE, output_folders, output_names
from eqviz.projection.projector import ProjectionResult

VIDEO_FPS = 10
VIDEO_BATCH = 8


def psnr(img: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample PSNR [N] in dB (the equivariance metrics' psnr_db), both images clamped to [-1, 1] as
    they are shown and saved."""
    sq_err = (img.clamp(-1, 1) - target.clamp(-1, 1)).square().sum(dim=[1, 2, 3])
    return torch.from_numpy(psnr_db(sq_err.detach().cpu().numpy(), img[0].numel()))


def save_progress_video(path, G, result: ProjectionResult, index: int, target_rgb8: np.ndarray,
                        overwrite: bool = False) -> None:
    """Target | projection, one frame per recorded step of target `index`, rendered in batches."""
    from eqviz.video.writer import Mp4Writer

    if not result.history:
        raise EqvizError("no optimisation history was recorded; project with history_every > 0 to make a video")
    writer = Mp4Writer(path, fps=VIDEO_FPS, overwrite=overwrite)
    try:
        steps = [ws[index] for _, ws in result.history] + [result.ws[index]]
        for start in range(0, len(steps), VIDEO_BATCH):
            with torch.no_grad():
                frames = images_to_rgb8(synthesize(G, torch.stack(steps[start:start + VIDEO_BATCH]))).cpu().numpy()
            for frame in frames:
                writer.write(np.concatenate([target_rgb8, frame], axis=1))
        writer.commit()
    except BaseException:
        writer.abort()
        raise


def check_outputs(out_dir, names: list[str], video: bool = False, overwrite: bool = False) -> list[Path]:
    """Before any work: each target's folder (created) takes files, and no file would be replaced
    unless `overwrite`. Returns the folders."""
    folders = output_folders(out_dir, names)
    for folder in folders:
        ensure_writable_folder(folder, create=True)
        for name in output_names(video):
            check_target(folder / name, overwrite)
    return folders


def save_projection(out_dir, G, result: ProjectionResult, targets: torch.Tensor, names: list[str],
                    video: bool = False, overwrite: bool = False) -> list[Path]:
    """Writes every target's files (names: the targets' file names); returns the folders written."""
    folders = check_outputs(out_dir, names, video, overwrite)
    for i, folder in enumerate(folders):
        save_png(folder / TARGET_FILE, to_uint8(targets[i]), overwrite=overwrite)
        save_png(folder / IMAGE_FILE, to_uint8(result.images[i]), overwrite=overwrite)
        if video:
            target_rgb8 = images_to_rgb8(targets[i:i + 1])[0].cpu().numpy()
            save_progress_video(folder / VIDEO_FILE, G, result, i, target_rgb8, overwrite=overwrite)
        save_w(folder / W_FILE, result.ws[i], overwrite=overwrite)
    return folders
