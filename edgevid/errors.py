"""Errors a user can act on. The CLI prints them as one line and exits non-zero."""


class UserError(Exception):
    """Bad input or environment: the message says what was wrong and what to do."""

    exit_code = 2


class MissingBackend(UserError):
    """A format's Python package is not installed."""

    def __init__(self, fmt: str, package: str, extra: str):
        super().__init__(
            f"format {fmt!r} needs the Python package {package!r}, which is not installed. "
            f"Install it with: pip install 'edgevid[{extra}]'"
        )
        self.format, self.package, self.extra = fmt, package, extra
