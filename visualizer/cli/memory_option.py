"""`--max-memory`, the option of every command that loads checkpoints."""


def add_max_memory_argument(parser) -> None:
    parser.add_argument("--max-memory", metavar="SIZE", default=None,
                        help="memory a checkpoint may declare it needs (the file, its parameters and one frame's "
                             "activations), e.g. 24G; default 3/4 of this machine's memory")


def max_memory(args) -> int | None:
    """The option in bytes, or None for the library's default (checkpoint loading imports torch:
    only when a command runs, never while the parser is built)."""
    from eqviz.networks.sizing import parse_memory_size

    return None if args.max_memory is None else parse_memory_size(args.max_memory)
