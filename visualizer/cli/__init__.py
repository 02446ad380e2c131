"""One module per `eqviz` subcommand: each has HELP, add_arguments(parser) and run(args) -> exit code."""
