"""Shared by the provider tests: vcrpy's configuration and the loopback fake server.

Cassettes live in ``tests/providers/cassettes/<vendor>/`` where ``<vendor>`` is the
test module's name without ``test_`` (``test_openai.py`` → ``cassettes/openai/``).
``record_mode`` is never set here: CI replays only (``--block-network``); to
re-record, pass ``--record-mode=rewrite`` with a real key in the environment
(see each cassette folder's README.md).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from loopback import LoopbackServer

#: Request headers that carry keys or account ids; vcrpy removes them before a cassette is written.
FILTERED_REQUEST_HEADERS = ("authorization", "x-api-key", "openai-organization", "openai-project", "cookie")

#: Response headers that carry account, request or trace ids, or cookies; dropped before recording.
DROPPED_RESPONSE_HEADERS = frozenset(
    {
        "set-cookie",
        "openai-organization",
        "openai-project",
        "x-request-id",
        "request-id",
        "cf-ray",
        "anthropic-organization-id",
        "x-client-request-id",
        "traceparent",
        "x-cloud-trace-context",
        "cf-cache-status",
        "alt-svc",
        "server-timing",
    }
)


#: A 401 echoes the rejected key, masked or whole ("Incorrect API key provided: sk-proj-****abcd.").
_ECHOED_KEY = re.compile(r"(key provided: )[^\s\"']+?(\.?)(?=[\s\"']|$)", re.IGNORECASE)


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """vcrpy ``before_record_response`` hook: drop id and cookie headers, mask an echoed key in the body."""
    headers = response.get("headers") or {}
    response["headers"] = {k: v for k, v in headers.items() if k.lower() not in DROPPED_RESPONSE_HEADERS}
    body = response.get("body") or {}
    content = body.get("string")
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    if isinstance(text, str) and _ECHOED_KEY.search(text):
        scrubbed = _ECHOED_KEY.sub(r"\1***\2", text)
        body["string"] = scrubbed.encode("utf-8") if isinstance(content, bytes) else scrubbed
        for name in response["headers"]:
            if name.lower() == "content-length":
                response["headers"][name] = [str(len(scrubbed.encode("utf-8")))]
    return response


def vcr_settings() -> dict[str, Any]:
    """The vcrpy options of every provider cassette (also used by the scripts that write cassettes)."""
    return {
        "filter_headers": list(FILTERED_REQUEST_HEADERS),
        "before_record_response": scrub_response,
        "decode_compressed_response": True,
        "match_on": ["method", "path", "body"],
    }


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return vcr_settings()


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    module = request.node.path
    vendor = module.stem.removeprefix("test_")
    return os.path.join(module.parent, "cassettes", vendor)


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """A running :class:`loopback.LoopbackServer` with an empty script; call ``.script(Reply(...), ...)``."""
    with LoopbackServer() as server:
        yield server
