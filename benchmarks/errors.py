"""User-facing errors: each message says what is wrong and how to fix it.

Kept free of heavy imports so the command line can report bad input before torch is even loaded.
"""


class ConfigError(ValueError):
    """A config, option or command-line problem."""


class DataError(ValueError):
    """A dataset that cannot be used."""


class TeacherError(ValueError):
    """A teacher checkpoint that cannot be used."""


class CheckpointError(ValueError):
    """A backbone checkpoint (to evaluate) that cannot be used."""


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss (the method's row is recorded as failed)."""
