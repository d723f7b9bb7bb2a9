"""The command line: `main` in `grader.cli.main`, one module per command group,
and one place (`grader.cli.wiring`) that builds a use case's Context."""
