"""The command line (`qa-service`): the app (`commands.py`), one module per command group, their text output, asking a
running server.

`main` is here, not only in `commands`, because it is the console script's entry point (`qa_service.cli:main`):
installed scripts keep working, and `--help` still imports nothing heavy.
"""


def main() -> None:
    """Run the `qa-service` command line."""
    from qa_service.cli.commands import main as run

    run()
