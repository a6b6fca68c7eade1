"""What every HTTP provider shares: keys from the environment, and status codes to errors."""

from __future__ import annotations

import email.utils
import os
import time
from collections.abc import Mapping

from onboard_llm.errors import MissingKeyError, OnboardError, ProviderAuthError, ProviderError, TransientError

#: Statuses worth another try: throttled, timed out, conflicting, server trouble, Anthropic's 529 overloaded.
TRANSIENT_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


def api_key(explicit: str | None, env_var: str, *, provider: str, required: bool = True) -> str | None:
    """The key passed to the library call, else the environment variable; never logged."""
    key = explicit or os.environ.get(env_var) or None
    if key is None and required:
        raise MissingKeyError(f"{provider} needs an API key: set {env_var} (or pass api_key= to the library call)")
    return key


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Seconds the server asked us to wait, from ``retry-after-ms`` or ``Retry-After`` (seconds or a date)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    if (ms := lowered.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed is not None else None


def status_error(provider: str, status: int, message: str, headers: Mapping[str, str] | None = None) -> OnboardError:
    """The error for an HTTP failure: transient (retried), auth (exit 2) or final (exit 1)."""
    text = f"{provider}: HTTP {status}: {message}"
    if status in TRANSIENT_STATUSES or status >= 500:
        return TransientError(text, provider=provider, status=status, retry_after=retry_after_seconds(headers))
    if status in (401, 403):
        return ProviderAuthError(f"{text} (check the API key and the account's access to this model)")
    return ProviderError(text, provider=provider, status=status)
