"""The length of an axis through upfirdn2d, shared by the reference and the fast paths of every op."""


def output_size(in_size, up, down, pad0, pad1, taps):
    """Samples along one axis after zero insertion, padding, a `taps`-long FIR and keeping every down-th."""
    return (in_size * up + pad0 + pad1 - taps + down) // down
