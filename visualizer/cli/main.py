"""The `eqviz` command line: parses, validates and delegates to the library (one module per subcommand)."""
import argparse
import difflib
import importlib
import os
import signal
import sys
import traceback
from pathlib import Path

from eqviz.process_tuning import tune_process

tune_process()  # passive OpenMP waits and heap reuse; must precede `import torch`

from eqviz import __version__
from eqviz.cli.signals import Interrupted, Terminated, sigterm_raises
from eqviz.errors import EqvizError, InvalidArgument

# Subcommand name -> module eqviz.cli.NAME, with HELP, add_arguments(parser) and run(args). Modules
# are imported only when used and import nothing heavy at the top: run(args) checks the arguments
# (files exist, outputs writable, counts sane) before it imports torch.
SUBCOMMANDS = ("gui", "info", "render", "convert", "metrics", "fid", "compare", "video", "sticking", "directions", "sheet", "project",
               "models", "cache")

# Library argument -> the flag that sets it, where no option of the command has it as its dest.
FLAG_OF_ARGUMENT = {"angle_deg": "--angle", "kinds": "--motion", "checkpoints": "CHECKPOINT",
                    "losses": "--loss", "targets": "--target", "optimize_noise": "--noise-opt"}

CHECKPOINT_SUFFIXES = (".pkl", ".safetensors")


def flag_of(argument: str, parser: argparse.ArgumentParser | None = None) -> str:
    """The command-line flag (or positional name) of an argument an InvalidArgument names: the
    option of `parser` whose dest it is, else the library-name table, else --argument-with-dashes."""
    for action in parser._actions if parser is not None else ():  # argparse lists no actions publicly
        if action.dest == argument and action.dest != "help":
            return action.option_strings[0] if action.option_strings else (action.metavar or action.dest.upper())
    return FLAG_OF_ARGUMENT.get(argument, "--" + argument.replace("_", "-"))


def command_module(name: str):
    """The module of subcommand `name`, imported on first use."""
    return importlib.import_module(f"eqviz.cli.{name}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or one with just the subcommand `only` (cheaper: one module imported)."""
    parser = argparse.ArgumentParser(
        prog="eqviz",
        description="Explore StyleGAN2/StyleGAN3 generators. With no subcommand, opens the app "
        "(on CHECKPOINT if given, else on the bundled demo checkpoint). A CHECKPOINT of any command is a "
        ".pkl or .safetensors path, an http(s):// or file:// URL, or a published model's name (eqviz models); "
        "downloads are kept in $EQVIZ_CACHE (eqviz cache).",
    )
    parser.add_argument("--version", action="version", version=f"eqviz {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        if only is not None and name != only:
            continue
        module = command_module(name)
        # argparse %-formats a sub-command's help (the list), not its description (its own --help).
        command_parser = sub.add_parser(name, help=module.HELP.replace("%", "%%"), description=module.HELP)
        module.add_arguments(command_parser)
        command_parser.set_defaults(command_parser=command_parser)  # so an error can name its flag
    return parser


class UnknownCommand(EqvizError):
    """The first word is neither a command nor a checkpoint, but close to a command's name."""


def normalise_argv(argv: list[str]) -> list[str]:
    """`eqviz`, `eqviz CHECKPOINT ...` and `eqviz --seed 3 ...` mean `eqviz gui ...`; a misspelt
    command (`eqviz rendr x.pkl`) is refused instead of being opened as a checkpoint."""
    if not argv:
        return ["gui"]
    first = argv[0]
    if first in SUBCOMMANDS or first in ("-h", "--help", "--version"):
        return argv
    if not first.startswith("-") and not Path(first).suffix.lower() in CHECKPOINT_SUFFIXES and not Path(first).exists():
        close = difflib.get_close_matches(first, SUBCOMMANDS, n=1, cutoff=0.6)
        if close:
            raise UnknownCommand(f"unknown command '{first}'; did you mean {close[0]}? (eqviz --help lists the commands)")
    return ["gui", *argv]


def main(argv: list[str] | None = None) -> int:
    try:
        argv = normalise_argv(list(sys.argv[1:] if argv is None else argv))
    except UnknownCommand as exc:
        print(f"eqviz: error: {exc}", file=sys.stderr)
        return 2
    command = argv[0] if argv[0] in SUBCOMMANDS else None
    args = build_parser(only=command).parse_args(argv)
    if args.command is None:
        build_parser().print_help()
        return 2
    try:
        with sigterm_raises():
            return int(command_module(args.command).run(args) or 0)
    except InvalidArgument as exc:
        print(f"eqviz {args.command}: error: {exc.naming(flag_of(exc.argument, args.command_parser))}", file=sys.stderr)
        return 2
    except EqvizError as exc:
        print(f"eqviz {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except Interrupted as exc:  # Ctrl+C that stopped the work in order, keeping what it had (eqviz project)
        print(f"eqviz {args.command}: interrupted: {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print(f"eqviz {args.command}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"eqviz {args.command}: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except BrokenPipeError:  # whatever read stdout stopped early (`eqviz info CKPT | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush does not fail too
        return 128 + signal.SIGPIPE
    except Exception:  # anything else is eqviz's own bug: a short traceback to report, not a bad input
        print(traceback.format_exc(limit=-4).rstrip(), file=sys.stderr)
        print(f"eqviz {args.command}: internal error: this is a bug in eqviz, not a problem with your input or "
              "files; please report it with the lines above", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
