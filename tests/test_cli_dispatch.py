"""`eqviz` with no subcommand opens the app; named subcommands go to their module."""
import pytest

from eqviz.cli import main as cli


@pytest.mark.parametrize("argv, expected", [
    ([], ["gui"]),
    (["model.pkl"], ["gui", "model.pkl"]),
    (["--seed", "3"], ["gui", "--seed", "3"]),
    (["info", "model.pkl"], ["info", "model.pkl"]),
    (["--help"], ["--help"]),
])
def test_argv_without_a_subcommand_means_the_app(argv, expected):
    assert cli.normalise_argv(argv) == expected


def test_every_subcommand_module_has_the_command_protocol():
    parser = cli.build_parser()
    for name in cli.SUBCOMMANDS:
        module = cli.command_module(name)
        assert isinstance(module.HELP, str) and module.HELP
        assert callable(module.add_arguments) and callable(module.run)
    assert parser.parse_args(["info", "x.pkl"]).command == "info"


def test_a_user_error_is_one_line_on_stderr_and_exit_code_2(capsys):
    assert cli.main(["info", "/nonexistent/model.pkl"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("eqviz info: error:") and "\n" not in err


def test_top_level_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in cli.SUBCOMMANDS)
