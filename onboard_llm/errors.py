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


class MissingKeyError(ConfigError):
    """A provider needs an API key that is not set (exit 2)."""


class ProviderError(OnboardError):
    """The provider failed to answer (exit 1).

    ``status`` is the HTTP status when there was one; the message always names
    the provider, and never carries a key.
    """

    def __init__(self, message: str, *, provider: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status


class ProviderAuthError(ConfigError):
    """The provider rejected the key or the account (exit 2): the configuration must change."""


class TransientError(ProviderError):
    """A failure worth retrying: 429, 408, 409, 5xx, 529 overloaded, a timeout or a lost connection.

    Providers raise it from inside one attempt; the retry policy catches it and
    either tries again or turns it into a final ProviderError.
    """

    def __init__(
        self, message: str, *, provider: str = "", status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, provider=provider, status=status)
        self.retry_after = retry_after


class GenerationError(OnboardError):
    """The model's answers stayed invalid after every re-ask (exit 1)."""

    def __init__(self, message: str, errors: list[str] | None = None, *, last_text: str | None = None) -> None:
        super().__init__(message)
        self.errors: list[str] = list(errors or [])
        #: The model's last answer, for evals that score a failed generation too.
        self.last_text = last_text


class BudgetExceededError(GenerationError):
    """Another attempt would spend more than the cost budget allows (exit 1)."""
