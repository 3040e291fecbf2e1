"""Typed errors. The CLI maps them to exit codes in one place (`msimg.cli.app`)."""

from __future__ import annotations


class MsimgError(Exception):
    """Base of every error msimg raises on purpose; its message is shown to the user as is."""


class UsageError(MsimgError):
    """The request itself is wrong (bad option, conflicting outputs); nothing was processed."""


class ImageReadError(MsimgError):
    """One input could not be read: unknown format, corrupt, truncated or too large."""


class ImageWriteError(MsimgError):
    """One output could not be written."""


class DeviceError(UsageError):
    """A requested device or precision is not available."""


class WeightsError(MsimgError):
    """A weights file is missing, tampered with, or does not fit its architecture."""


class ModelError(MsimgError):
    """The model failed on an input (after out-of-memory back-off gave up)."""
