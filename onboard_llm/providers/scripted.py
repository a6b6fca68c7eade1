"""A provider that plays back answers written in advance, for tests and demos."""

from __future__ import annotations

from collections.abc import Iterable

from onboard_llm.errors import ProviderError
from onboard_llm.providers.base import Completion, CompletionRequest, Usage


class ScriptedProvider:
    """Answers each call with the next scripted reply and records every request."""

    name = "scripted"

    def __init__(self, replies: Iterable[str | Completion], model: str = "scripted-1") -> None:
        self.model = model
        self._replies = list(replies)
        self.requests: list[CompletionRequest] = []

    def complete(self, request: CompletionRequest) -> Completion:
        self.requests.append(request)
        if len(self.requests) > len(self._replies):
            raise ProviderError(f"scripted provider has only {len(self._replies)} replies")
        reply = self._replies[len(self.requests) - 1]
        if isinstance(reply, Completion):
            return reply
        # Rough token counts keep usage arithmetic honest in tests.
        prompt_chars = sum(len(m.content) for m in request.messages)
        return Completion(
            text=reply,
            usage=Usage(input_tokens=prompt_chars // 4, output_tokens=len(reply) // 4),
            model=self.model,
        )

    async def acomplete(self, request: CompletionRequest) -> Completion:
        return self.complete(request)
