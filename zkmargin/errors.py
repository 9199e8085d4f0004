"""The exception hierarchy shared by every zkmargin package.

Every error the project raises on purpose derives from :class:`ZkMarginError`.  Errors about
bad input carry the offending *field* and the *problem*, so that the CLI can print a message
naming both and exit with status 2.
"""

from __future__ import annotations


class ZkMarginError(Exception):
    """Root of every error raised on purpose by zkmargin."""


class InputError(ZkMarginError, ValueError):
    """Bad user input: a file, a config value, a CLI option.

    ``field`` names the offending input (a dotted path such as ``positions[3].size`` or a
    file name), ``problem`` says what is wrong with it.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class ConfigError(InputError):
    """A configuration file or object is invalid."""


class DevnetError(ZkMarginError):
    """The local devnet or a deployment cannot be reached or used."""
