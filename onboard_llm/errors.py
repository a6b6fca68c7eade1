"""One exception hierarchy, with messages written for the person at the keyboard.

The CLI prints ``str(error)`` on one line and exits with ``error.exit_code``
(see the exit-code table in the README).
"""

from __future__ import annotations


class OnboardError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code: int = 1


class BadInputError(OnboardError):
    """The user's input or configuration cannot be used (exit 2)."""

    exit_code = 2


class ConfigError(BadInputError):
    """A setting, provider spec or key is missing or wrong (exit 2)."""


class PromptError(BadInputError):
    """A prompt name, version or template is unknown or broken (exit 2)."""


class ProviderError(OnboardError):
    """The provider failed to answer (exit 1)."""


class GenerationError(OnboardError):
    """The model's answers stayed invalid after every re-ask (exit 1)."""

    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.errors: list[str] = list(errors or [])
