"""Errors raised on bad input: each names the file and, where it applies, the line."""

from __future__ import annotations

from pathlib import Path


class ElectioError(Exception):
    """Base class of every error the pipeline raises on purpose."""


class InputError(ElectioError):
    """A raw or referential file does not have the expected content."""

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        where = f"{self.path}, ligne {line}" if line is not None else self.path
        super().__init__(f"{where} : {message}")


class ChecksumError(InputError):
    """A file's sha256 differs from the catalogue's."""


class QualityError(ElectioError):
    """A blocking data-quality rule failed."""


class ModelFileError(ElectioError):
    """The saved model file is missing, truncated or not the one the warehouse recorded."""


class HomeBusy(ElectioError):
    """Another command is writing into the same project home."""


class PortBusy(ElectioError):
    """The dashboard's port is taken by another program."""


class Interrupted(BaseException):
    """SIGINT (Ctrl+C) or SIGTERM received: raised where the program stands so that every stage
    can remove what it was building. Not an ``Exception``: no ``except Exception`` swallows it."""

    def __init__(self, signal_name: str) -> None:
        self.signal_name = signal_name
        super().__init__(signal_name)
