"""The ``hashhls`` command line: :mod:`hashhls.cli.main` (argparse) and one module per subcommand."""
