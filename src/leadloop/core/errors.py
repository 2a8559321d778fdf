"""Named errors. A person sees the sentence, never a traceback."""

from __future__ import annotations


class LeadloopError(Exception):
    """Base for every error a user may see; `str(err)` is the sentence to show."""

    status_code = 400


class InvalidInput(LeadloopError):
    status_code = 422


class NotFound(LeadloopError):
    status_code = 404


class PermissionDenied(LeadloopError):
    status_code = 403


class Conflict(LeadloopError):
    status_code = 409


class UnknownActivityType(InvalidInput):
    def __init__(self, given: str, known: list[str]) -> None:
        self.given = given
        self.known = known
        super().__init__(f"unknown activity type {given!r}; known types: {', '.join(known)}")


class ImportFileError(InvalidInput):
    """The file as a whole cannot be read; nothing was written."""
