"""The `edgevid` command line. ``main`` is the console script; commands register on ``app``."""
from edgevid.cli import bench_cmd, export_cmd, index_cmd, listing, report_cmd  # noqa: F401 - register commands
from edgevid.cli.app import app, main

__all__ = ["app", "main"]
