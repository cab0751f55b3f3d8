"""The `edgevid` command line. ``main`` is the console script; commands register on ``app``."""

from edgevid.cli import (  # noqa: F401 - register commands
    ab_cmd,
    bench_cmd,
    devices_cmd,
    export_cmd,
    index_cmd,
    lab_cmd,
    listing,
    multi_cmd,
    remote_cmd,
    report_cmd,
    study_cmd,
)
from edgevid.cli.app import app, main

__all__ = ["app", "main"]
