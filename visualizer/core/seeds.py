"""Seed lists as users write them ('5', '0-7', '1,4,10-12'), kept as ranges so they stream.

`0-100000000` is a hundred million seeds: held as one range it costs nothing until it is iterated,
one seed at a time. Seeds are those of NVIDIA's tools, 0 to 2^32 - 1 (numpy's RandomState seeds).
Imports nothing heavy: the command line checks seeds before it loads torch.
"""
from collections.abc import Sequence

from eqviz.errors import InvalidArgument

MAX_SEED = 2**32 - 1  # numpy.random.RandomState takes 0 .. 2^32 - 1, as NVIDIA's gen_images.py


class Seeds(Sequence):
    """An ordered list of seeds stored as ranges: len, indexing, iteration and `in` without expanding it."""

    def __init__(self, ranges):
        self.ranges = tuple(r for r in ranges if len(r))

    def __len__(self) -> int:
        return sum(len(r) for r in self.ranges)

    def __iter__(self):
        for r in self.ranges:
            yield from r

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        for r in self.ranges:
            if 0 <= index < len(r):
                return r[index]
            index -= len(r)
        raise IndexError("seed index out of range")

    def __contains__(self, seed) -> bool:
        return any(seed in r for r in self.ranges)

    def __eq__(self, other) -> bool:
        if isinstance(other, Seeds):
            return self.ranges == other.ranges or list(self) == list(other)
        return isinstance(other, (list, tuple)) and len(self) == len(other) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"Seeds({format_seeds(self)})"


def format_seeds(seeds: Seeds) -> str:
    """The list as it would be written: '0-7,12'."""
    return ",".join(str(r.start) if len(r) == 1 else f"{r.start}-{r.stop - 1}" for r in seeds.ranges)


def parse_seeds(text: str, argument: str = "seeds") -> Seeds:
    """'5' | '0-7' | '1,4,10-12' -> Seeds, in the order given; each seed in 0 .. 2^32 - 1.
    Errors are InvalidArgument naming `argument` (the same syntax serves other index lists)."""
    ranges = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            first, last = (int(lo), int(hi)) if sep and lo.strip() else (int(part), int(part))
        except ValueError:
            raise InvalidArgument(f"cannot read {argument} '{_short(text)}'; write e.g. 5, 0-7 or 1,4,10-12", argument) from None
        if first < 0 or last > MAX_SEED:
            raise InvalidArgument(f"{first if first < 0 else last} is out of range; seeds go from 0 to {MAX_SEED} "
                                  "(2^32 - 1), as in NVIDIA's tools", argument)
        if last < first:
            raise InvalidArgument(f"the range {first}-{last} runs backwards; write it {last}-{first}", argument)
        ranges.append(range(first, last + 1))
    seeds = Seeds(ranges)
    if not len(seeds):
        raise InvalidArgument("the list is empty; give e.g. 5 or 0-7", argument)
    return seeds


def _short(text, limit: int = 40) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "..."
