"""OpenAI, and servers that speak its Chat Completions API, through the official SDK.

Two providers share one implementation:

``openai``
    api.openai.com (or ``--base-url`` / ``OPENAI_BASE_URL``), key from
    ``OPENAI_API_KEY``. Structured output with a strict ``json_schema``
    response format built from the plan schema; the output limit goes out as
    ``max_completion_tokens`` (``max_tokens`` is deprecated there and rejected
    by reasoning models).

``openai-compatible``
    Ollama, vLLM, LM Studio, llama.cpp's server and the like; ``--base-url`` is
    required, a key is optional (``OPENAI_COMPATIBLE_API_KEY``: an OpenAI key in
    ``OPENAI_API_KEY`` is deliberately *not* sent to a third-party server). The
    output limit goes out as ``max_tokens``, which all of them read. When the
    server answers 400 to ``response_format: json_schema`` (the one bad request
    that is not final, GUIDE §8), the same request is sent again at once in JSON
    mode (``{"type": "json_object"}``) with the schema written into the system
    prompt; a server that rejects JSON mode too gets the schema in the prompt
    only. The provider object remembers the mode that worked.

The SDK is imported inside the methods, so listing providers does not load it.
Its own retries are off (``max_retries=0``); :class:`RetryPolicy` is the one
retry loop. A key never reaches an error message.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from onboard_llm.errors import ConfigError, OnboardError, ProviderError, TransientError
from onboard_llm.providers.base import Completion, CompletionRequest, FinishReason, Usage, register_provider
from onboard_llm.providers.http import LazyClients, mask_keys, status_error
from onboard_llm.providers.http import api_key as resolve_key
from onboard_llm.providers.retry import RetryPolicy

if TYPE_CHECKING:
    from openai import AsyncOpenAI, OpenAI
    from openai._legacy_response import LegacyAPIResponse
    from openai.types.chat import ChatCompletion

OPENAI = "openai"
COMPATIBLE = "openai-compatible"
KEY_ENV = "OPENAI_API_KEY"
COMPATIBLE_KEY_ENV = "OPENAI_COMPATIBLE_API_KEY"
BASE_URL_ENV = "OPENAI_BASE_URL"
DEFAULT_MODEL = "gpt-4.1-mini"
DEFAULT_COMPATIBLE_MODEL = "llama3.1"
#: What the SDK is given as a key for a local server that wants none (it insists on a string).
PLACEHOLDER_KEY = "not-needed"

#: How the answer's shape is asked for: strict schema, JSON mode plus the schema in the prompt, or the prompt alone.
ResponseMode = Literal["json_schema", "json_object", "prompt"]
_NEXT_MODE: Mapping[ResponseMode, ResponseMode] = {"json_schema": "json_object", "json_object": "prompt"}

#: A 400 whose text matches this is a server saying it cannot do the response format we asked for.
_FORMAT_REJECTED = re.compile(
    r"response[_ .-]?format|json[_ .-]?schema|json[_ .-]?object|structured[_ .-]?output|guided[_ .-]?json|grammar",
    re.IGNORECASE,
)
SCHEMA_INSTRUCTION = (
    "Reply with one JSON object, and nothing else, matching this JSON Schema "
    "(every property is required; use null where the schema allows it):\n"
)

_FINISH: Mapping[str, FinishReason] = {"stop": "stop", "length": "length", "content_filter": "refusal"}


class _ChatCompletionsProvider:
    """One Chat Completions endpoint through the ``openai`` SDK, sync and async."""

    name: str = OPENAI
    #: ``max_completion_tokens`` for OpenAI itself, ``max_tokens`` for compatible servers.
    max_tokens_param: str = "max_completion_tokens"
    #: Whether a 400 rejecting the response format moves to the next :data:`ResponseMode`.
    falls_back: bool = False

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None,
        base_url: str | None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> None:
        self.model = model
        self._api_key = api_key
        self.base_url = base_url
        self.retry = retry or RetryPolicy()
        # One request may take as long as the whole retry budget, no longer.
        self.timeout = timeout if timeout is not None else self.retry.timeout
        self.mode: ResponseMode = "json_schema"
        self._lock = threading.Lock()  # guards the response mode, which a fallback changes
        self._clients: LazyClients[OpenAI, AsyncOpenAI] = LazyClients(self._new_client, self._new_async_client)

    def __repr__(self) -> str:
        # Never the key.
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r}, mode={self.mode!r})"

    # -- clients ---------------------------------------------------------------------------

    def _sync_client(self) -> OpenAI:
        return self._clients.sync()

    def _async_client(self) -> AsyncOpenAI:
        return self._clients.for_running_loop()

    def warm_up(self) -> None:
        """Import the SDK (and the parts it loads on first use) and make this event loop's client now.

        Otherwise the first request pays a few hundred milliseconds, and every
        request of a run's first wave waits behind it.
        """
        _ = self._async_client().chat.completions

    def _new_client(self) -> OpenAI:
        from openai import OpenAI

        return OpenAI(
            api_key=self._api_key or PLACEHOLDER_KEY, base_url=self.base_url, max_retries=0, timeout=self.timeout
        )

    def _new_async_client(self) -> AsyncOpenAI:
        from openai import AsyncOpenAI

        return AsyncOpenAI(
            api_key=self._api_key or PLACEHOLDER_KEY, base_url=self.base_url, max_retries=0, timeout=self.timeout
        )

    # -- calls -----------------------------------------------------------------------------

    def complete(self, request: CompletionRequest) -> Completion:
        """One answer; transient failures are retried by the retry policy, nothing else is."""
        import openai

        client = self._sync_client()
        attempts = 0

        def attempt() -> Completion:
            nonlocal attempts
            while True:
                attempts += 1
                mode = self.mode
                try:
                    raw = client.chat.completions.with_raw_response.create(**self._create_kwargs(request, mode))
                except openai.OpenAIError as exc:
                    if self._falls_back_from(exc, mode):
                        continue
                    raise self._error(exc) from None
                return self._completion(raw, attempts)

        return self.retry.call(attempt, provider=self.name)

    async def acomplete(self, request: CompletionRequest) -> Completion:
        """The async twin of :meth:`complete`."""
        import openai

        client = self._async_client()
        attempts = 0

        async def attempt() -> Completion:
            nonlocal attempts
            while True:
                attempts += 1
                mode = self.mode
                try:
                    raw = await client.chat.completions.with_raw_response.create(**self._create_kwargs(request, mode))
                except openai.OpenAIError as exc:
                    if self._falls_back_from(exc, mode):
                        continue
                    raise self._error(exc) from None
                return self._completion(raw, attempts)

        return await self.retry.acall(attempt, provider=self.name)

    # -- the request -----------------------------------------------------------------------

    def params(self, request: CompletionRequest, mode: ResponseMode | None = None) -> dict[str, Any]:
        """The keyword arguments of ``chat.completions.create`` for a request in a response mode."""
        mode = mode or self.mode
        messages = [m.as_dict() for m in request.messages]
        params: dict[str, Any] = {
            "model": self.model,
            "temperature": request.temperature,
            self.max_tokens_param: request.max_output_tokens,
        }
        if request.schema is not None:
            if mode == "json_schema":
                params["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": request.schema_name, "strict": True, "schema": dict(request.schema)},
                }
            else:
                messages = _with_schema_text(messages, request.schema)
                if mode == "json_object":
                    params["response_format"] = {"type": "json_object"}
        params["messages"] = messages
        return params

    def _create_kwargs(self, request: CompletionRequest, mode: ResponseMode) -> dict[str, Any]:
        """:meth:`params` as handed to the SDK: a JSON Schema travels in ``extra_body``.

        The SDK walks every argument against its type hints before sending, which
        for the plan's schema (hundreds of nested nodes, already plain JSON) costs
        about a millisecond per request; ``extra_body`` is merged into the same
        JSON body as it is. The request on the wire is unchanged.
        """
        kwargs = self.params(request, mode)
        response_format = kwargs.get("response_format")
        if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
            kwargs["extra_body"] = {"response_format": kwargs.pop("response_format")}
        return kwargs

    def _falls_back_from(self, exc: Exception, mode: ResponseMode) -> bool:
        """Move to the next response mode when the server rejected this one; True to send again."""
        import openai

        if not self.falls_back or mode not in _NEXT_MODE:
            return False
        if not isinstance(exc, openai.APIStatusError) or exc.status_code != 400:
            return False
        text = f"{exc.message} {_body_text(exc.body)}"
        if not _FORMAT_REJECTED.search(text):
            return False
        with self._lock:
            if self.mode == mode:  # another thread may have moved on already
                self.mode = _NEXT_MODE[mode]
        return True

    # -- the answer ------------------------------------------------------------------------

    def _completion(self, raw: LegacyAPIResponse[ChatCompletion], attempts: int) -> Completion:
        body = raw.text
        try:
            parsed = raw.parse()
        except Exception as exc:  # the SDK's own parse of a 200 answer; any failure means a broken body
            raise ProviderError(
                f"{self.name}: the server's answer could not be read ({type(exc).__name__}): {body[:200]}",
                provider=self.name,
            ) from None
        if not getattr(parsed, "choices", None):
            raise ProviderError(f"{self.name}: the answer has no choices: {body[:200]}", provider=self.name)
        choice = parsed.choices[0]
        message = choice.message
        refusal = message.refusal or None
        finish: FinishReason = _FINISH.get(choice.finish_reason or "", "other")
        if refusal is not None:
            finish = "refusal"
        elif finish == "refusal":
            refusal = "the answer was withheld by the content filter (finish_reason content_filter)"
        usage = parsed.usage
        cached = 0
        if usage is not None and usage.prompt_tokens_details is not None:
            cached = usage.prompt_tokens_details.cached_tokens or 0
        return Completion(
            text=message.content or "",
            usage=Usage(
                input_tokens=usage.prompt_tokens if usage is not None else 0,
                output_tokens=usage.completion_tokens if usage is not None else 0,
                cached_tokens=cached,
            ),
            finish_reason=finish,
            model=parsed.model or self.model,
            refusal=refusal,
            raw=body,
            http_attempts=attempts,
        )

    # -- errors ----------------------------------------------------------------------------

    def _error(self, exc: Exception) -> OnboardError:
        """Our error for an SDK exception: transient (retried), auth (exit 2) or final; no key in it."""
        import openai

        if isinstance(exc, openai.APIStatusError):
            message = self._scrub(_error_message(exc))
            return status_error(self.name, exc.status_code, message, dict(exc.response.headers))
        if isinstance(exc, openai.APITimeoutError):
            return TransientError(f"{self.name}: the request timed out after {self.timeout:g} s", provider=self.name)
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            detail = f": {cause}" if cause is not None else ""
            where = self.base_url or "https://api.openai.com/v1"
            return TransientError(f"{self.name}: could not connect to {where}{self._scrub(detail)}", provider=self.name)
        return ProviderError(f"{self.name}: {self._scrub(str(exc))}", provider=self.name)

    def _scrub(self, text: str) -> str:
        return mask_keys(text, self._api_key)


@register_provider(
    OPENAI,
    default_model=DEFAULT_MODEL,
    description="OpenAI Chat Completions; strict json_schema structured output",
    key_env=KEY_ENV,
)
class OpenAIProvider(_ChatCompletionsProvider):
    """OpenAI itself: key required, ``--base-url`` or ``OPENAI_BASE_URL`` optional."""

    name = OPENAI
    max_tokens_param = "max_completion_tokens"
    falls_back = False

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> None:
        # Checked now so a missing key stops the command before any work is done.
        key = resolve_key(api_key, KEY_ENV, provider=OPENAI)
        super().__init__(
            model,
            api_key=key,
            base_url=base_url or os.environ.get(BASE_URL_ENV) or None,
            retry=retry,
            timeout=timeout,
        )


@register_provider(
    COMPATIBLE,
    default_model=DEFAULT_COMPATIBLE_MODEL,
    description="OpenAI-compatible server (Ollama, vLLM, LM Studio, llama.cpp); needs --base-url, key optional",
)
class OpenAICompatibleProvider(_ChatCompletionsProvider):
    """A server that speaks OpenAI's Chat Completions API; JSON-mode fallback when it lacks json_schema."""

    name = COMPATIBLE
    max_tokens_param = "max_tokens"
    falls_back = True

    def __init__(
        self,
        model: str = DEFAULT_COMPATIBLE_MODEL,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> None:
        if not base_url:
            raise ConfigError(f"{COMPATIBLE} needs --base-url (e.g. http://localhost:11434/v1)")
        super().__init__(
            model,
            api_key=resolve_key(api_key, COMPATIBLE_KEY_ENV, provider=COMPATIBLE, required=False),
            base_url=base_url,
            retry=retry,
            timeout=timeout,
        )


def _with_schema_text(messages: list[dict[str, str]], schema: Mapping[str, Any]) -> list[dict[str, str]]:
    """The messages with the schema written into the first system message (else the last user message)."""
    text = SCHEMA_INSTRUCTION + json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
    out = [dict(m) for m in messages]
    systems = [i for i, m in enumerate(out) if m["role"] == "system"]
    users = [i for i, m in enumerate(out) if m["role"] == "user"]
    if not systems and not users:
        return [{"role": "system", "content": text}, *out]
    index = systems[0] if systems else users[-1]
    out[index]["content"] = f"{out[index]['content']}\n\n{text}"
    return out


def _error_message(exc: Any) -> str:
    """The vendor's own words for a failed request, from the body the SDK kept."""
    body = exc.body
    if isinstance(body, Mapping):
        for key in ("message", "error", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return _shorten(value)
            if isinstance(value, Mapping) and isinstance(value.get("message"), str):
                return _shorten(value["message"])
    if isinstance(body, str) and body.strip():
        return _shorten(body)
    return str(exc.message)


def _body_text(body: object) -> str:
    if body is None:
        return ""
    return body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, default=str)


def _shorten(text: str, limit: int = 500) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
