"""What every HTTP provider shares: keys from the environment, and status codes to errors."""

from __future__ import annotations

import asyncio
import email.utils
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

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


#: Anything shaped like a key or a bearer token, masked or not: OpenAI's 401 says
#: "Incorrect API key provided: sk-proj-****abcd." and some servers echo the whole header.
_KEY_SHAPED = re.compile(
    r"(?<=key provided: )[^\s,;\"']+?(?=\.?(?:[\s,;\"']|$))|\b(?:sk|rk|pk)-[A-Za-z0-9_*.\-]{6,}|Bearer\s+\S+",
    re.IGNORECASE,
)


def mask_keys(text: str, key: str | None = None) -> str:
    """The text with the given key, and anything shaped like a key, replaced by ``***``."""
    if key:
        text = text.replace(key, "***")
    return _KEY_SHAPED.sub("***", text)


S = TypeVar("S")
A = TypeVar("A")


class LazyClients(Generic[S, A]):
    """An SDK's sync client, made once, and its async client, made once per event loop.

    The factories import the SDK, so nothing is imported until the first call.
    """

    def __init__(self, make_sync: Callable[[], S], make_async: Callable[[], A]) -> None:
        self._make_sync = make_sync
        self._make_async = make_async
        self._lock = threading.Lock()
        self._sync: S | None = None
        self._async: A | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def sync(self) -> S:
        with self._lock:
            if self._sync is None:
                self._sync = self._make_sync()
            return self._sync

    def for_running_loop(self) -> A:
        # An async client's connections belong to the event loop that opened them.
        loop = asyncio.get_running_loop()
        if self._async is None or self._loop is not loop:
            self._async = self._make_async()
            self._loop = loop
        return self._async
