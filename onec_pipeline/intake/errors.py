"""The one error of the intake layer."""

from __future__ import annotations


class IntakeError(Exception):
    """An upload cannot be taken (hostile zip, a file that is not whole or not decodable, unreadable files…).

    ``file`` and ``line`` name the file of the upload (and the line in it) the refusal is about, when there
    is one; ``str()`` is one line that names them."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        super().__init__(message)

    def __reduce__(self):  # picklable across processes
        return (_rebuild, (self.message, self.file, self.line))


def _rebuild(message: str, file: str | None, line: int | None) -> IntakeError:
    return IntakeError(message, file=file, line=line)
