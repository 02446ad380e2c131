"""What a projection needs besides G, chosen once for the CLI and the app: the losses (by default
pixel + discriminator when the snapshot carries a usable D, else pixel; LPIPS when its files are
given), the snapshot's discriminator and the LPIPS network."""
import dataclasses

from eqviz.errors import CheckpointError
from eqviz.projection.losses import parse_losses


@dataclasses.dataclass
class ProjectionInputs:
    losses: dict               # name -> weight
    D: object = None           # the snapshot's discriminator, when a loss needs it
    lpips: object = None       # eqviz.projection.lpips.LPIPS, when a loss needs it
    note: str = ""             # why the default left the discriminator loss out ('' when it did not)


def projection_inputs(checkpoint, losses: str | None = None, lpips_vgg=None, lpips_lin=None,
                      device="cpu", max_memory: int | None = None) -> ProjectionInputs:
    """The losses (`losses` like 'pixel,discriminator=0.5'; None = the default) and the networks they use
    (`max_memory` as for eqviz.networks.load_generator).

    Raises:
        InvalidArgument: an unknown loss or weight, or unusable LPIPS files.
        CheckpointError: the discriminator loss was asked for and the checkpoint has no usable D.
    """
    from eqviz.networks import load_discriminator

    D, note = None, ""
    if losses is None:
        try:
            D = load_discriminator(checkpoint, device=device, max_memory=max_memory)
        except CheckpointError as exc:
            note = f"no discriminator loss: {exc}"
        losses = ",".join(["pixel"] + (["discriminator"] if D is not None else [])
                          + (["lpips"] if lpips_vgg or lpips_lin else []))
    chosen = parse_losses(losses)
    if "discriminator" in chosen and D is None:
        D = load_discriminator(checkpoint, device=device, max_memory=max_memory)
    lpips = None
    if "lpips" in chosen:
        from eqviz.projection.lpips import load_lpips

        lpips = load_lpips(lpips_vgg, lpips_lin, device=device)
    return ProjectionInputs(chosen, D if "discriminator" in chosen else None, lpips, note)
