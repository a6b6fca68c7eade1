"""Anthropic's Messages API through the official SDK, structured output by a forced tool.

The plan schema is sent as the input schema of one tool, and ``tool_choice``
forces the model to call it, so the answer is the tool call's ``input``. That
works with every Claude model and with Anthropic-compatible gateways reached
through ``ANTHROPIC_BASE_URL``; the native ``output_config.format`` would need
the schema rewritten for its JSON Schema subset, and our own parser validates
the answer either way.

The SDK is imported inside the methods: listing providers must not load it.
Its own retries are off (``max_retries=0``); :class:`RetryPolicy` is the one
retry loop.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from onboard_llm.errors import OnboardError, ProviderError, TransientError
from onboard_llm.providers.base import (
    Completion,
    CompletionRequest,
    FinishReason,
    Message,
    Usage,
    register_provider,
)
from onboard_llm.providers.http import LazyClients, api_key, mask_keys, status_error
from onboard_llm.providers.retry import RetryPolicy

if TYPE_CHECKING:
    from anthropic import Anthropic, AsyncAnthropic
    from anthropic.types import Message as AnthropicMessage
    from anthropic.types import MessageParam, ToolChoiceToolParam, ToolParam

PROVIDER = "anthropic"
KEY_ENV = "ANTHROPIC_API_KEY"
BASE_URL_ENV = "ANTHROPIC_BASE_URL"
#: The newest Sonnet that is both in the SDK's model list and in the shipped price table
#: (``data/prices.json``), so cost and ``--max-cost`` work without a price file.
DEFAULT_MODEL = "claude-sonnet-4-6"
#: Anything shaped like an Anthropic key or a bearer token, masked or not.
#: Anthropic rejects empty text blocks; an empty earlier answer is sent as this instead.
EMPTY_ANSWER = "(no answer)"

_FINISH: Mapping[str, FinishReason] = {
    "end_turn": "stop",
    "tool_use": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    # The context window filled up mid-answer: cut off, like max_tokens.
    "model_context_window_exceeded": "length",
    "refusal": "refusal",
}


@register_provider(
    PROVIDER,
    default_model=DEFAULT_MODEL,
    description="Anthropic Messages API (Claude); structured output through a forced tool",
    key_env=KEY_ENV,
)
class AnthropicProvider:
    """Claude through the official ``anthropic`` SDK, sync and async."""

    name = PROVIDER

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> None:
        self.model = model
        # Checked now so a missing key stops the command before any work is done.
        self._api_key = _key(api_key)
        self.base_url = base_url or os.environ.get(BASE_URL_ENV) or None
        self.retry = retry or RetryPolicy()
        # One request may take as long as the whole retry budget, no longer. Passing a timeout
        # also stops the SDK refusing large max_tokens without streaming (its 10-minute guess).
        self.timeout = timeout if timeout is not None else self.retry.timeout
        self._clients: LazyClients[Anthropic, AsyncAnthropic] = LazyClients(self._new_client, self._new_async_client)

    def __repr__(self) -> str:
        # Never the key.
        return f"AnthropicProvider(model={self.model!r}, base_url={self.base_url!r})"

    # -- clients -----------------------------------------------------------------

    def _sync_client(self) -> Anthropic:
        return self._clients.sync()

    def _async_client(self) -> AsyncAnthropic:
        return self._clients.for_running_loop()

    def warm_up(self) -> None:
        """Import the SDK (and the parts it loads on first use) and make this event loop's client now.

        Otherwise the first request pays a few hundred milliseconds, and every
        request of a run's first wave waits behind it.
        """
        _ = self._async_client().messages

    def _new_client(self) -> Anthropic:
        from anthropic import Anthropic

        return Anthropic(api_key=self._api_key, base_url=self.base_url, max_retries=0, timeout=self.timeout)

    def _new_async_client(self) -> AsyncAnthropic:
        from anthropic import AsyncAnthropic

        return AsyncAnthropic(api_key=self._api_key, base_url=self.base_url, max_retries=0, timeout=self.timeout)

    # -- calls -------------------------------------------------------------------

    def complete(self, request: CompletionRequest) -> Completion:
        """One answer, transient failures retried by the retry policy."""
        import anthropic

        call = _Call.build(request)
        client = self._sync_client()
        attempts = 0

        def attempt() -> Completion:
            nonlocal attempts
            attempts += 1
            try:
                raw = client.messages.with_raw_response.create(
                    model=self.model,
                    max_tokens=request.max_output_tokens,
                    system=call.system or anthropic.omit,
                    messages=call.messages,
                    tools=call.tools if call.tools is not None else anthropic.omit,
                    tool_choice=call.tool_choice if call.tool_choice is not None else anthropic.omit,
                )
                message = raw.parse()
                body = raw.text()
            except anthropic.AnthropicError as exc:
                raise self._error(exc) from None
            return _completion(message, body, request, attempts)

        return self.retry.call(attempt, provider=PROVIDER)

    async def acomplete(self, request: CompletionRequest) -> Completion:
        """The async twin of :meth:`complete`."""
        import anthropic

        call = _Call.build(request)
        client = self._async_client()
        attempts = 0

        async def attempt() -> Completion:
            nonlocal attempts
            attempts += 1
            try:
                raw = await client.messages.with_raw_response.create(
                    model=self.model,
                    max_tokens=request.max_output_tokens,
                    system=call.system or anthropic.omit,
                    messages=call.messages,
                    tools=call.tools if call.tools is not None else anthropic.omit,
                    tool_choice=call.tool_choice if call.tool_choice is not None else anthropic.omit,
                )
                message = await raw.parse()
                body = await raw.text()
            except anthropic.AnthropicError as exc:
                raise self._error(exc) from None
            return _completion(message, body, request, attempts)

        return await self.retry.acall(attempt, provider=PROVIDER)

    def _error(self, exc: Exception) -> OnboardError:
        """Our error for an SDK exception, with the key scrubbed from its message."""
        import anthropic

        if isinstance(exc, anthropic.APIStatusError):
            message = exc.api_message or _body_text(exc.body) or exc.message
            return status_error(PROVIDER, exc.status_code, self._scrub(message), dict(exc.response.headers))
        if isinstance(exc, anthropic.APITimeoutError):
            return TransientError(f"{PROVIDER}: the request timed out after {self.timeout:g} s", provider=PROVIDER)
        if isinstance(exc, anthropic.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            detail = f": {cause}" if cause is not None else ""
            where = self.base_url or "https://api.anthropic.com"
            return TransientError(f"{PROVIDER}: could not connect to {where}{self._scrub(detail)}", provider=PROVIDER)
        return ProviderError(f"{PROVIDER}: {self._scrub(str(exc))}", provider=PROVIDER)

    def _scrub(self, text: str) -> str:
        return mask_keys(text, self._api_key)


def _key(explicit: str | None) -> str:
    key = api_key(explicit, KEY_ENV, provider=PROVIDER)
    assert key is not None  # required=True raises instead of returning None
    return key


@dataclass(frozen=True)
class _Call:
    """What ``messages.create`` is sent for a request, apart from the model and the limit.

    The installed SDK has no ``temperature`` parameter, so the request's
    temperature is not sent.
    """

    system: str
    messages: list[MessageParam]
    tools: list[ToolParam] | None = None
    tool_choice: ToolChoiceToolParam | None = None

    @classmethod
    def build(cls, request: CompletionRequest) -> _Call:
        system, messages = _messages(request.messages)
        if request.schema is None:
            return cls(system, messages)
        tool: ToolParam = {
            "name": request.schema_name,
            "description": (
                "Record your answer. Call this tool exactly once; its input is the answer, "
                "and it must follow the input schema exactly."
            ),
            "input_schema": dict(request.schema),
        }
        choice: ToolChoiceToolParam = {"type": "tool", "name": request.schema_name, "disable_parallel_tool_use": True}
        return cls(system, messages, [tool], choice)


def _messages(messages: tuple[Message, ...]) -> tuple[str, list[MessageParam]]:
    """System text apart, then strictly alternating user and assistant turns.

    An earlier answer goes back as plain assistant text (no tool_use block, so
    no tool_result is owed); turns of the same role in a row are joined.
    """
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    turns: list[tuple[str, str]] = []
    for m in messages:
        if m.role == "system":
            continue
        content = m.content if m.content.strip() else EMPTY_ANSWER
        if turns and turns[-1][0] == m.role:
            turns[-1] = (m.role, f"{turns[-1][1]}\n\n{content}")
        else:
            turns.append((m.role, content))
    converted: list[MessageParam] = []
    for role, content in turns:
        if role == "user":
            converted.append({"role": "user", "content": content})
        else:
            converted.append({"role": "assistant", "content": content})
    return system, converted


def _completion(message: AnthropicMessage, body: str, request: CompletionRequest, attempts: int) -> Completion:
    """Our Completion for a Messages API response."""
    tool_input: object = None
    texts: list[str] = []
    for block in message.content:
        if block.type == "tool_use" and block.name == request.schema_name and tool_input is None:
            tool_input = block.input
        elif block.type == "text":
            texts.append(block.text)
    text = json.dumps(tool_input, ensure_ascii=False) if tool_input is not None else "".join(texts)

    stop = message.stop_reason or ""
    finish: FinishReason = _FINISH.get(stop, "other")
    refusal: str | None = None
    if finish == "refusal":
        details = message.stop_details
        refusal = (
            (details.explanation if details is not None else None)
            or "".join(texts).strip()
            or f"stop_reason refusal{f' ({details.category})' if details is not None and details.category else ''}"
        )

    usage = message.usage
    cache_read = usage.cache_read_input_tokens or 0
    cache_write = usage.cache_creation_input_tokens or 0
    return Completion(
        text=text,
        # Anthropic counts cache reads and writes apart from input_tokens; ours are all the input
        # the model read, with cache reads as the cached part (as OpenAI reports them).
        usage=Usage(
            input_tokens=usage.input_tokens + cache_read + cache_write,
            output_tokens=usage.output_tokens,
            cached_tokens=cache_read,
        ),
        finish_reason=finish,
        model=message.model,
        refusal=refusal,
        raw=body,
        http_attempts=attempts,
    )


def _body_text(body: object) -> str:
    """An error body without the usual ``error.message`` (a proxy's HTML page, say), shortened."""
    if body is None:
        return ""
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return text if len(text) <= 500 else text[:500] + "…"
