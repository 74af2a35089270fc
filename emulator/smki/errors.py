"""Errors of the SMKI repository, its extracts and the sync client."""

from emulator.errors import EmulatorError


class SmkiError(EmulatorError):
    """Any refusal by the SMKI repository code; the message says what and where."""


class ExtractError(SmkiError):
    """An extract that cannot be written or trusted; `file` names it when there is one."""

    def __init__(self, message: str, file: str | None = None):
        super().__init__(f"{file}: {message}" if file else message)
        self.reason = message
        self.file = file


class SyncError(ExtractError):
    """The sync client refused to restore (missing, reordered or tampered extract)."""
