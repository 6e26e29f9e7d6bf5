"""Errors that services raise for the views, CLI and API to turn into clear messages."""


class DeskError(Exception):
    """A refusal with a message meant for the person who asked."""

    status = 400

    def __init__(self, message: str, *, errors: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or [message]


class Malformed(DeskError):
    """A body the desk cannot read at all: not UTF-8, not JSON, or nested too deeply."""
    status = 400


class NotFound(DeskError):
    status = 404


class Forbidden(DeskError):
    status = 403


class InvalidTransition(DeskError):
    status = 409


class ValidationFailed(DeskError):
    status = 422
