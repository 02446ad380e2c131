"""The `eqviz` command line: parses, validates and delegates to the library (one module per subcommand)."""
import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
import traceback

from eqviz.process_tuning import tune_process

tune_process()  # passive OpenMP waits and heap reuse; must precede `import torch`

from eqviz.errors import EqvizError, InvalidArgument

# Subcommand name -> module in eqviz.cli. Modules are imported only when used, so
# `eqviz info` never loads Dear PyGui and `eqviz gui` never loads the video encoder.
SUBCOMMANDS = ("gui", "info", "render", "convert", "metrics", "fid", "compare", "video", "sticking", "directions", "sheet", "project",
               "models", "cache")

# Library argument -> the flag that sets it, where the flag is not the argument's name with dashes.
FLAG_OF_ARGUMENT = {"class_idx": "--class", "angle_deg": "--angle", "kinds": "--motion", "checkpoints": "CHECKPOINT",
                    "losses": "--loss", "targets": "--target", "optimize_noise": "--noise-opt"}


def flag_of(argument: str) -> str:
    """The command-line flag of a library argument (what an InvalidArgument names)."""
    return FLAG_OF_ARGUMENT.get(argument, "--" + argument.replace("_", "-"))


def command_module(name: str):
    """The module of subcommand `name`, imported on first use."""
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
        module = command_module(name)
        # argparse %-formats a sub-command's help (the list), not its description (its own --help).
        module.add_arguments(sub.add_parser(name, help=module.HELP.replace("%", "%%"), description=module.HELP))
    return parser


def normalise_argv(argv: list[str]) -> list[str]:
    """`eqviz`, `eqviz CHECKPOINT ...` and `eqviz --seed 3 ...` mean `eqviz gui ...`."""
    if not argv:
        return ["gui"]
    if argv[0] not in SUBCOMMANDS and argv[0] not in ("-h", "--help"):
        return ["gui", *argv]
    return argv


class Terminated(BaseException):
    """SIGTERM as an exception, so `finally` blocks and context managers remove partial outputs
    (a BaseException, so no `except Exception` in the library swallows it)."""


def raise_terminated(signum, frame) -> None:
    raise Terminated()


@contextlib.contextmanager
def sigterm_raises():
    """While a command runs, SIGTERM raises Terminated (its default action would exit without
    cleaning up); signal handlers can only be set from the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    argv = normalise_argv(list(sys.argv[1:] if argv is None else argv))
    command = argv[0] if argv[0] in SUBCOMMANDS else None
    args = build_parser(only=command).parse_args(argv)
    if args.command is None:
        build_parser().print_help()
        return 2
    try:
        with sigterm_raises():
            if args.command != "gui":  # the app downloads in its checkpoint panel, with a Cancel
                from eqviz.cli.downloading import fetch_checkpoint_arguments, fetch_metric_weights

                fetch_checkpoint_arguments(args)
                fetch_metric_weights(args)
            return int(command_module(args.command).run(args) or 0)
    except InvalidArgument as exc:
        print(f"eqviz {args.command}: error: {flag_of(exc.argument)}: {exc}", file=sys.stderr)
        return 2
    except EqvizError as exc:
        from eqviz.networks.sizing import MemoryLimitError  # already imported wherever one is raised

        if isinstance(exc, MemoryLimitError):
            exc = exc.naming("--max-memory")
        print(f"eqviz {args.command}: error: {exc}", file=sys.stderr)
        return 2
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
