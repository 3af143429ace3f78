"""The command line: ``heron``."""
