"""Test suite. ``CLI`` is the command line that runs the installed CLI in a subprocess."""

import sys

CLI = [sys.executable, "-m", "prunestack.api.cli"]
