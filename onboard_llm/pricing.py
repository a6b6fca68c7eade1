"""What a completion costs: a dated price table per model, in USD per million tokens.

The table ships as ``onboard_llm/data/prices.json`` with the date the prices
were read and where from. Prices change, so a user file (``ONBOARD_PRICES`` or
an explicit path) of the same shape is merged over it, entry by entry (a user
entry replaces the shipped entry of the same key; without ``cached_input``,
cached tokens cost the input rate). Keys are
``provider:model``; ``provider:*`` prices every model of a provider (the offline
planner and local OpenAI-compatible servers are free unless listed).

Token convention: ``Usage.input_tokens`` counts every prompt token, cached ones
included, and ``cached_tokens`` is the part served from the vendor's prompt
cache. Cached tokens are billed at the cached rate and not again as input.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onboard_llm.errors import ConfigError
from onboard_llm.providers.base import Usage

SHIPPED_PRICES = Path(__file__).resolve().parent / "data" / "prices.json"
PRICES_ENV = "ONBOARD_PRICES"
_PER = 1_000_000
# Dated snapshots price like their alias: gpt-4.1-2025-04-14, claude-haiku-4-5-20251001.
_SNAPSHOT = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8})$")
_FIELDS = ("input", "cached_input", "output")


def estimate_tokens(text: str) -> int:
    """A rough token count: one token per four characters, rounded up.

    English prose averages about four characters a token with OpenAI's and
    Anthropic's tokenizers; good enough for a budget check before a call, not
    for billing (use the usage the provider reports for that).
    """
    return math.ceil(len(text) / 4)


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens: fresh input, cached input and output."""

    input: float
    cached_input: float
    output: float

    def cost(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> float:
        """USD for these tokens; ``cached_tokens`` is the cached part of ``input_tokens``."""
        cached = min(max(cached_tokens, 0), max(input_tokens, 0))
        fresh = max(input_tokens, 0) - cached
        return (fresh * self.input + cached * self.cached_input + max(output_tokens, 0) * self.output) / _PER


class PriceTable:
    """Prices by ``provider:model`` key, with the date they were read."""

    def __init__(
        self, prices: Mapping[str, ModelPrice], *, read_on: str, files: tuple[Path, ...] = (), note: str = ""
    ) -> None:
        self.prices: dict[str, ModelPrice] = dict(prices)
        #: When the shipped prices were read from the vendors' pages (or the override's date, if it gives one).
        self.read_on = read_on
        #: The price files merged into this table, shipped file first.
        self.files = files
        self.note = note

    @classmethod
    def load(cls, path: Path | None = None) -> PriceTable:
        """The shipped table with the user's file merged over it.

        The user's file is ``path`` if given, else ``$ONBOARD_PRICES`` if set.
        A missing or invalid file is a ConfigError naming it.
        """
        shipped = _read(SHIPPED_PRICES)
        entries = _entries(shipped, SHIPPED_PRICES)
        read_on = _text(shipped, "read_on", SHIPPED_PRICES) or "unknown"
        note = _text(shipped, "note", SHIPPED_PRICES) or ""
        files = [SHIPPED_PRICES]
        if path is None and (env := os.environ.get(PRICES_ENV)):
            path = Path(env).expanduser()
        if path is not None:
            user = _read(path)
            # Entry by entry: a user entry replaces the shipped one whole, so no stale
            # shipped field (a cached rate above the user's new input rate) survives.
            entries.update(_entries(user, path))
            read_on = _text(user, "read_on", path) or read_on
            files.append(path)
        prices = {key: _price(key, fields, files[-1]) for key, fields in entries.items()}
        return cls(prices, read_on=read_on, files=tuple(files), note=note)

    def price(self, provider: str, model: str) -> ModelPrice | None:
        """The price of ``provider:model`` (its alias for a dated snapshot, else ``provider:*``), or None."""
        provider = provider.strip().lower()
        model = model.strip()
        for key in (f"{provider}:{model}", f"{provider}:{_SNAPSHOT.sub('', model)}", f"{provider}:*"):
            if key in self.prices:
                return self.prices[key]
        return None

    def cost(self, provider: str, model: str, usage: Usage) -> float | None:
        """USD for ``usage`` on ``provider:model``, or None when the model has no price."""
        price = self.price(provider, model)
        if price is None:
            return None
        return price.cost(usage.input_tokens, usage.output_tokens, usage.cached_tokens)

    def estimate(self, provider: str, model: str, input_tokens: int, output_tokens: int) -> float | None:
        """USD for a call not made yet (no cache hits assumed), or None when the model has no price."""
        price = self.price(provider, model)
        if price is None:
            return None
        return price.cost(input_tokens, output_tokens)


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"price file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"cannot read price file {path}: {reason}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"price file {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"price file {path} must hold a JSON object with a 'models' object")
    return data


def _text(data: Mapping[str, Any], name: str, path: Path) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"price file {path}: '{name}' must be a string")
    return value


def _entries(data: Mapping[str, Any], path: Path) -> dict[str, dict[str, float]]:
    models = data.get("models")
    if not isinstance(models, dict):
        raise ConfigError(
            f"price file {path} needs a 'models' object of \"provider:model\": {{input, cached_input, output}}"
        )
    entries: dict[str, dict[str, float]] = {}
    for key, fields in models.items():
        provider, sep, model = key.partition(":")
        if not sep or not provider.strip() or not model.strip():
            raise ConfigError(f"price file {path}: model key '{key}' must be PROVIDER:MODEL, e.g. openai:gpt-4.1")
        if not isinstance(fields, dict):
            raise ConfigError(f"price file {path}: '{key}' must be an object with input, cached_input and output")
        unknown = sorted(set(fields) - {*_FIELDS, "note"})
        if unknown:
            raise ConfigError(f"price file {path}: '{key}' has unknown field '{unknown[0]}' (use {', '.join(_FIELDS)})")
        clean: dict[str, float] = {}
        for name in _FIELDS:
            if name not in fields:
                continue
            value = fields[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"price file {path}: '{key}' {name} must be a number of USD per 1M tokens, >= 0")
            clean[name] = float(value)
        entries[f"{provider.strip().lower()}:{model.strip()}"] = clean
    return entries


def _price(key: str, fields: Mapping[str, float], path: Path) -> ModelPrice:
    missing = [name for name in ("input", "output") if name not in fields]
    if missing:
        raise ConfigError(f"price file {path}: '{key}' needs {' and '.join(missing)}")
    # A model without a cache discount bills cached tokens as plain input.
    return ModelPrice(fields["input"], fields.get("cached_input", fields["input"]), fields["output"])


__all__ = ["PRICES_ENV", "SHIPPED_PRICES", "ModelPrice", "PriceTable", "estimate_tokens"]
