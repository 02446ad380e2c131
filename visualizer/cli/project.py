"""`eqviz project`: find the W (or W+) of your own image, then rotate, translate or edit it like a seed."""
import argparse
import dataclasses
import math
import warnings

from eqviz.cli.arguments import (add_max_memory_argument, check_count, check_seed, existing_checkpoint, existing_file,
                                 fetch_downloads, max_memory, output_folder)
from eqviz.cli.signals import Interrupted, ctrl_c_cancels
from eqviz.errors import InvalidArgument
from eqviz.projection.files import W_FILE, existing_outputs

MAX_STEPS = 100_000  # NVIDIA's projector takes 1000; a hundred times that is a typo, not a plan

HELP = "Project your own image(s) into a generator's W or W+ (projected_w.npz, proj.png, target.png, proj.mp4)."

EXAMPLES = """examples:
  eqviz project network-snapshot.pkl --target photo.jpg --out proj
  eqviz project sg3r.pkl --target photo.jpg --space w+ --steps 500 --video --out proj
  eqviz project sg2.pkl --target a.png b.png --loss pixel,lpips --lpips-vgg vgg16-397923af.pth --lpips-lin vgg.pth --out proj
  eqviz video sg3r.pkl --w proj/projected_w.npz --motion rotate --out photo_rotate.mp4
The discriminator loss needs a training snapshot (network-snapshot-*.pkl: it carries D). With several
targets each one's files go to a subfolder of --out named after it.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="NVIDIA .pkl (a training snapshot for the discriminator loss) or eqviz .safetensors")
    parser.add_argument("--target", nargs="+", required=True, metavar="IMAGE", help="image file(s) of any size: centre-cropped and resized to the generator's resolution; several are projected together")
    parser.add_argument("--space", choices=("w", "w+"), default="w", help="w: one w for every layer (default); w+: one per layer (closer fit, less editable)")
    parser.add_argument("--loss", help="comma-separated pixel, discriminator, lpips, each optionally =WEIGHT (default: pixel,discriminator when the checkpoint has a D, else pixel; lpips added when its files are given)")
    parser.add_argument("--steps", type=int, default=1000, help="optimisation steps (default 1000)")
    parser.add_argument("--lpips-vgg", metavar="FILE", help="torchvision's VGG16 weights, vgg16-397923af.pth (for the lpips loss; default: downloaded once)")
    parser.add_argument("--lpips-lin", metavar="FILE", help="LPIPS v0.1 linear heads, vgg.pth from the lpips package (for the lpips loss; default: downloaded once)")
    parser.add_argument("--class", dest="class_idx", type=int, help="class index of a conditional model")
    parser.add_argument("--noise-opt", action=argparse.BooleanOptionalAction, default=False, help="StyleGAN2: optimise the noise maps too, as NVIDIA's projector (default off: the saved W alone then renders as projected)")
    parser.add_argument("--seed", type=int, default=303, help="seed of the noise added to w during the search (default 303)")
    parser.add_argument("--video", action="store_true", help="also write proj.mp4: target | projection over the optimisation")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")
    add_max_memory_argument(parser)
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")


def check_arguments(args) -> None:
    """Everything that can be checked before torch is loaded."""
    existing_checkpoint(args.checkpoint)
    for path in args.target:
        existing_file(path, "target")
    for name in ("lpips_vgg", "lpips_lin"):
        if getattr(args, name) is not None:
            existing_file(getattr(args, name), name)
    check_seed(args.seed)
    check_count(args.steps, "steps", "optimisation steps", MAX_STEPS)
    max_memory(args)
    output_folder(args.out, "out")
    taken = [] if args.overwrite else existing_outputs(args.out, args.target, args.video)
    if taken:  # found now, not after the model (and D, and LPIPS) are loaded
        raise InvalidArgument(f"{taken[0]} already exists; pass --overwrite to replace it, or choose another folder",
                              "out")


def run(args) -> int:
    check_arguments(args)
    fetch_downloads(args)  # URLs, published names, metric weights: once everything else is checked
    import numpy as np

    from eqviz.cli.progress import ProgressDisplay
    from eqviz.errors import Cancelled
    from eqviz.networks import load_generator
    from eqviz.projection.outputs import check_outputs, psnr, save_projection
    from eqviz.projection.projector import ProjectionSettings, project
    from eqviz.projection.setup import projection_inputs
    from eqviz.projection.targets import load_target, target_tensor

    settings = ProjectionSettings(  # validates before anything is loaded; the losses follow the checkpoint
        space=args.space,
        steps=args.steps,
        optimize_noise=args.noise_opt,
        class_idx=args.class_idx,
        seed=args.seed,
        history_every=math.ceil(args.steps / 100) if args.video else 0,
    )
    # Every step differentiates through G: the reference ops are the path, not a fallback worth a warning.
    warnings.filterwarnings("ignore", message=".*gradient is needed.*")
    memory = max_memory(args)
    G = load_generator(args.checkpoint, device=args.device, max_memory=memory)
    inputs = projection_inputs(args.checkpoint, args.loss, args.lpips_vgg, args.lpips_lin, device=args.device,
                               max_memory=memory)
    if inputs.note:
        print(inputs.note)
    pixels = np.stack([load_target(path, G.img_resolution, G.img_channels) for path in args.target])
    targets = target_tensor(pixels, device=args.device)
    settings = dataclasses.replace(settings, losses=tuple(inputs.losses.items()))
    check_outputs(args.out, list(args.target), video=args.video, overwrite=args.overwrite)  # before the long part
    print(f"projecting {len(args.target)} image(s) into {args.space.upper()} of {args.checkpoint} "
          f"({G.img_resolution}px), losses {', '.join(f'{k}={v:g}' for k, v in inputs.losses.items())}, {args.steps} steps")
    stopped = None
    with ProgressDisplay("projecting", unit="step") as display, ctrl_c_cancels() as cancel:
        try:
            result = project(G, targets, settings, D=inputs.D, lpips=inputs.lpips, cancel=cancel,
                             progress=lambda p: display.update(p.done, p.total))
        except Cancelled as exc:  # Ctrl+C: keep the best W found so far, as a finished run would
            if exc.partial is None:
                raise KeyboardInterrupt from None
            result, stopped = exc.partial, exc
    folders = save_projection(args.out, G, result, targets, list(args.target), video=args.video,
                              overwrite=args.overwrite)
    for name, folder, value in zip(args.target, folders, psnr(result.images, targets).tolist()):
        print(f"{name}: PSNR {value:.2f} dB -> {folder / W_FILE}")
    if stopped is not None:
        raise Interrupted(f"stopped at step {stopped.done} of {stopped.total}; kept the best W found so far")
    return 0
