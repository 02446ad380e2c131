"""The `eqviz` command line: parses, validates and delegates to the library (one module per subcommand)."""
import argparse
import importlib
import sys

from eqviz.process_tuning import tune_process

tune_process()  # passive OpenMP waits and heap reuse; must precede `import torch`

from eqviz.errors import EqvizError

# Subcommand name -> module in eqviz.cli. Modules are imported only when used, so
# `eqviz info` never loads Dear PyGui and `eqviz gui` never loads the video encoder.
SUBCOMMANDS = ("gui", "info", "render", "convert", "metrics", "video", "sticking")


def _command_module(name: str):
    return importlib.import_module(f"eqviz.cli.{name}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or one with just the subcommand `only` (cheaper: one module imported)."""
    parser = argparse.ArgumentParser(
        prog="eqviz",
        description="Explore StyleGAN2/StyleGAN3 generators. With no subcommand, opens the app "
        "(on CHECKPOINT if given, else on the bundled demo checkpoint).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        if only is not None and name != only:
            continue
        module = _command_module(name)
        summary = module.HELP.replace("%", "%%")  # argparse %-formats help strings
        module.add_arguments(sub.add_parser(name, help=summary, description=summary))
    return parser


def _normalise_argv(argv: list[str]) -> list[str]:
    """`eqviz`, `eqviz CHECKPOINT ...` and `eqviz --seed 3 ...` mean `eqviz gui ...`."""
    if not argv:
        return ["gui"]
    if argv[0] not in SUBCOMMANDS and argv[0] not in ("-h", "--help"):
        return ["gui", *argv]
    return argv


def main(argv: list[str] | None = None) -> int:
    argv = _normalise_argv(list(sys.argv[1:] if argv is None else argv))
    command = argv[0] if argv[0] in SUBCOMMANDS else None
    args = build_parser(only=command).parse_args(argv)
    if args.command is None:
        build_parser().print_help()
        return 2
    try:
        return int(_command_module(args.command).run(args) or 0)
    except EqvizError as exc:
        print(f"eqviz {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"eqviz {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
