"""Errors a user can act on. The CLI prints them as one line and exits non-zero."""


class UserError(Exception):
    """Bad input or environment: the message says what was wrong and what to do."""

    exit_code = 2


def describe_need(package: str) -> str:
    """``"tensorrt|bin:trtexec"`` -> ``the Python package 'tensorrt' or the program 'trtexec'``."""
    parts = [
        f"the program {p[4:]!r} on PATH" if p.startswith("bin:") else f"the Python package {p!r}"
        for p in package.split("|")
    ]
    return " or ".join(parts)


class MissingBackend(UserError):
    """A format's Python package (or program) is not installed."""

    def __init__(self, fmt: str, package: str, extra: str):
        super().__init__(
            f"format {fmt!r} needs {describe_need(package)}, which is not installed. "
            f"Install it with: pip install 'edgevid[{extra}]'"
        )
        self.format, self.package, self.extra = fmt, package, extra


class RunFailed(UserError):
    """Something ran and failed (a conversion, a configuration, a check): exit code 1."""

    exit_code = 1


class Interrupted(UserError):
    """Ctrl-C or SIGTERM: what was measured is kept; exit code 130. With --json the CLI prints
    ``json_payload`` (e.g. the records measured so far) instead of an error object."""

    exit_code = 130

    def __init__(self, message: str, json_payload=None):
        super().__init__(message)
        self.json_payload = json_payload
