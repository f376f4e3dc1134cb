"""The few error classes of livematte. Each subclasses a builtin so callers can catch either."""
from __future__ import annotations


class LivematteError(Exception):
    """Base of every error livematte raises on purpose; the CLI prints it and exits non-zero."""

    exit_code = 1


class ConfigError(LivematteError, ValueError):
    """A configuration file or option is wrong; the message names the file and key."""

    exit_code = 2


class InputError(LivematteError, ValueError):
    """An input file or stream is unreadable, corrupt or unsupported; the message names it."""


class InputNotFound(LivematteError, FileNotFoundError):
    """An input path does not exist."""


class OutputError(LivematteError, OSError):
    """An output cannot be written where or how it was asked."""


class ModelError(LivematteError, RuntimeError):
    """A model cannot be obtained, verified, converted or loaded."""


class EngineUnavailable(LivematteError, ImportError):
    """An optional runtime (TensorRT, CUDA) is missing; the message says how to install it."""


class DeviceError(LivematteError, RuntimeError):
    """A live device (camera, virtual camera) is missing or busy; the message says how to fix it."""
