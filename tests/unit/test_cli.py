"""The Typer app: every stage registered, --version, and readable errors."""

from __future__ import annotations

from importlib.metadata import version

from typer.testing import CliRunner

from pipeline.cli import COMMANDS, app


def test_version_and_every_command_in_help():
    runner = CliRunner()
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"followback {version('followback')}"
    help_text = runner.invoke(app, ["--help"]).output
    for name, _ in COMMANDS:
        assert name in help_text


def test_a_misspelt_params_key_is_one_readable_line(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("train:\n  clasifier: hgb\n")
    result = CliRunner().invoke(app, ["train", "--params", str(params)])
    assert result.exit_code == 2
    assert "clasifier" in result.output and "Traceback" not in result.output
