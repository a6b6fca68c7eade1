"""Versioned prompt templates: discovery, integrity and sandboxed rendering.

A prompt lives in ``<root>/<name>/<version>/`` with ``prompt.yaml`` (its
metadata), ``system.j2`` and ``user.j2``. Its identity is ``name@version``
plus the sha256 of those files; released versions are pinned in
``<root>/<name>/released.lock`` so an edit to one is caught, and a change
becomes a new version.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from onboard_llm.errors import PromptError
from onboard_llm.providers.base import Message
from onboard_llm.resources import data_dir

TEMPLATE_FILES = ("system.j2", "user.j2")
META_FILE = "prompt.yaml"
LOCK_FILE = "released.lock"
PROMPTS_ENV = "ONBOARD_PROMPTS_DIR"
_VERSION = re.compile(r"^v(\d+)$")


class PromptMeta(BaseModel):
    """The metadata every prompt version declares in its ``prompt.yaml``."""

    model_config = ConfigDict(extra="forbid")

    name: str
    version: str
    status: Literal["draft", "released"]
    date: dt.date
    description: str
    changelog: list[str] = Field(min_length=1)
    schema_name: str = "plan_draft"
    schema_version: str
    temperature: float = Field(ge=0, le=2)
    max_output_tokens: int = Field(ge=256)
    variables: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class PromptVersion:
    """One version of one prompt, found on disk."""

    meta: PromptMeta
    path: Path
    sha256: str
    source: str  # "builtin" or the user folder it came from

    @property
    def ref(self) -> str:
        return f"{self.meta.name}@{self.meta.version}"

    def files(self) -> dict[str, str]:
        """The version's files by name, as text."""
        return {p.name: p.read_text(encoding="utf-8") for p in _version_files(self.path)}


@dataclass(frozen=True)
class RenderedPrompt:
    """A prompt filled with one handoff's variables."""

    name: str
    version: str
    sha256: str
    messages: tuple[Message, ...]
    schema_name: str
    temperature: float
    max_output_tokens: int
    variables: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


def version_key(version: str) -> int:
    match = _VERSION.match(version)
    return int(match.group(1)) if match else -1


def _version_files(path: Path) -> list[Path]:
    # Hidden files (.DS_Store, editor swap files) are not part of a prompt and
    # must not make a released version look edited.
    return sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))


def hash_version_dir(path: Path) -> str:
    """sha256 over every file of a version folder, names included."""
    digest = hashlib.sha256()
    for file in _version_files(path):
        digest.update(file.name.encode())
        digest.update(b"\0")
        # Line endings must not change a release's identity across platforms.
        digest.update(file.read_bytes().replace(b"\r\n", b"\n"))
        digest.update(b"\0")
    return digest.hexdigest()


def read_lock(prompt_dir: Path) -> dict[str, str]:
    """The ``{version: sha256}`` pins of one prompt; empty when it has no lock file."""
    lock = prompt_dir / LOCK_FILE
    if not lock.is_file():
        return {}
    try:
        data = json.loads(lock.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PromptError(f"{lock} is not valid JSON ({exc}); restore it from version control") from None
    if not isinstance(data, dict):
        raise PromptError(f"{lock} must be a JSON object of version: sha256")
    return {str(k): str(v) for k, v in data.items()}


def write_lock(prompt_dir: Path, versions: Mapping[str, str]) -> None:
    ordered = dict(sorted(versions.items(), key=lambda kv: version_key(kv[0])))
    (prompt_dir / LOCK_FILE).write_text(json.dumps(ordered, indent=2) + "\n", encoding="utf-8")


def _escape_data(text: str, tag: str) -> str:
    # Notes are data: they must not be able to close (or reopen) their block
    # and smuggle text into the instruction part of the prompt. Any marker-like
    # tag, with spaces, odd case or attributes, loses its angle brackets.
    pattern = re.compile(rf"<(\s*/?\s*{re.escape(tag)}(?![\w-])[^<>]*)>", re.IGNORECASE)
    return pattern.sub(lambda m: f"[{m.group(1)}]", text)


def data_block(text: str, tag: str) -> str:
    """Wrap untrusted text in ``<tag>`` markers, neutralising any marker inside it."""
    return f"<{tag}>\n{_escape_data(text, tag)}\n</{tag}>"


@functools.lru_cache(maxsize=64)
def _compiled(source: str) -> Template:
    """A template compiled once per distinct text (an eval renders the same version thousands of times)."""
    return _environment().from_string(source)


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False, trim_blocks=True, lstrip_blocks=True
    )
    env.filters["data_block"] = data_block
    env.filters["tojson_pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return env


class PromptRegistry:
    """Finds prompt versions in the shipped folder and in the user's own folders."""

    def __init__(self, extra_dirs: Sequence[Path] = ()) -> None:
        env_dirs = [Path(p) for p in os.environ.get(PROMPTS_ENV, "").split(os.pathsep) if p]
        self.roots: list[tuple[Path, str]] = [(Path(d), str(d)) for d in (*extra_dirs, *env_dirs)]
        for root, _ in self.roots:
            if not root.is_dir():
                raise PromptError(f"prompts folder {root} does not exist")
        self.roots.append((data_dir("prompts"), "builtin"))
        self._versions: dict[str, dict[str, PromptVersion]] | None = None

    def _scan(self) -> dict[str, dict[str, PromptVersion]]:
        if self._versions is not None:
            return self._versions
        found: dict[str, dict[str, PromptVersion]] = {}
        # Earlier roots win: a user's folder may shadow a built-in version.
        for root, source in reversed(self.roots):
            for prompt_dir, versions in _scan_root(root, source).items():
                found.setdefault(prompt_dir.name, {}).update(versions)
        self._versions = found
        return found

    def names(self) -> list[str]:
        return sorted(self._scan())

    def versions(self, name: str) -> list[PromptVersion]:
        """Every version of a prompt, oldest first."""
        versions = self._scan().get(name)
        if not versions:
            raise PromptError(f"unknown prompt '{name}' (available: {', '.join(self.names()) or 'none'})")
        return sorted(versions.values(), key=lambda v: version_key(v.meta.version))

    def all(self) -> list[PromptVersion]:
        return [v for name in self.names() for v in self.versions(name)]

    def get(self, ref: str) -> PromptVersion:
        """Resolve ``name``, ``name@latest`` or ``name@vN``; latest means the newest released."""
        name, _, version = ref.strip().partition("@")
        versions = self.versions(name)
        if version in ("", "latest"):
            released = [v for v in versions if v.meta.status == "released"]
            if not released:
                raise PromptError(f"prompt '{name}' has no released version; name one, e.g. {versions[-1].ref}")
            return released[-1]
        for v in versions:
            if v.meta.version == version:
                return v
        known = ", ".join(v.meta.version for v in versions)
        raise PromptError(f"unknown version '{version}' of prompt '{name}' (available: {known})")

    def render(self, ref: str | PromptVersion, variables: Mapping[str, Any]) -> RenderedPrompt:
        """Fill a version's templates; a missing variable is a PromptError naming it."""
        version = self.get(ref) if isinstance(ref, str) else ref
        missing = [name for name in version.meta.variables if name not in variables]
        if missing:
            raise PromptError(
                f"{version.ref} needs the variable(s) {', '.join(missing)} "
                f"(variables given: {', '.join(sorted(variables)) or 'none'})"
            )
        messages: list[Message] = []
        for filename, role in (("system.j2", "system"), ("user.j2", "user")):
            path = version.path / filename
            if not path.is_file():
                raise PromptError(f"{version.ref} has no {filename}")
            try:
                text = _compiled(path.read_text(encoding="utf-8")).render(**variables)
            except UndefinedError as exc:
                given = ", ".join(sorted(variables)) or "none"
                raise PromptError(f"{version.ref} {filename}: {exc.message} (variables given: {given})") from None
            except TemplateSyntaxError as exc:
                raise PromptError(
                    f"{version.ref} {filename} line {exc.lineno}: template syntax error: {exc.message}"
                ) from None
            except TemplateError as exc:
                raise PromptError(f"{version.ref} {filename}: template error: {exc}") from None
            except Exception as exc:
                # A template that divides by zero or calls a filter wrongly is a
                # broken prompt, reported like one rather than as a traceback.
                raise PromptError(f"{version.ref} {filename}: template failed: {type(exc).__name__}: {exc}") from None
            messages.append(Message(role="system" if role == "system" else "user", content=text.strip() + "\n"))
        return RenderedPrompt(
            name=version.meta.name,
            version=version.meta.version,
            sha256=version.sha256,
            messages=tuple(messages),
            schema_name=version.meta.schema_name,
            temperature=version.meta.temperature,
            max_output_tokens=version.meta.max_output_tokens,
            variables=dict(variables),
        )

    def diff(self, ref_a: str, ref_b: str) -> str:
        """A unified diff of two versions' files."""
        a, b = self.get(ref_a), self.get(ref_b)
        files_a, files_b = a.files(), b.files()
        chunks: list[str] = []
        for name in sorted(set(files_a) | set(files_b)):
            chunks.extend(
                difflib.unified_diff(
                    files_a.get(name, "").splitlines(keepends=True),
                    files_b.get(name, "").splitlines(keepends=True),
                    fromfile=f"{a.ref}/{name}",
                    tofile=f"{b.ref}/{name}",
                )
            )
        return "".join(chunks)

    def check_locks(self) -> list[str]:
        """Problems with released versions: missing from the lock, edited since, or gone."""
        problems: list[str] = []
        prompt_dirs: set[Path] = set()
        for version in self.all():
            prompt_dirs.add(version.path.parent)
            pinned = read_lock(version.path.parent).get(version.meta.version)
            if pinned is None:
                if version.meta.status == "released":
                    problems.append(f"{version.ref} is released but not pinned in {version.path.parent / LOCK_FILE}")
            elif pinned != version.sha256:
                # Checked whatever the status says: flipping a release back to
                # draft is itself an edit of a released version.
                problems.append(
                    f"{version.ref} was released with sha256 {pinned[:12]} but its files now hash to "
                    f"{version.sha256[:12]}; released prompts are immutable, make a new version"
                )
        for prompt_dir in sorted(prompt_dirs):
            # Looked up on disk: a version shadowed by a user's folder is not gone.
            missing = [v for v in read_lock(prompt_dir) if not (prompt_dir / v).is_dir()]
            for gone in sorted(missing, key=version_key):
                problems.append(
                    f"{prompt_dir.name}@{gone} is pinned in {prompt_dir / LOCK_FILE} but its folder is gone"
                )
        return problems


def lock_released(root: Path, *, force: bool = False) -> list[str]:
    """Pin every released version under ``root`` in its prompt's lock file; returns what was done.

    A pin that would change is refused with a PromptError (nothing is written)
    unless ``force``: a released prompt is immutable, and a change is a new version.
    """
    plans: list[tuple[Path, dict[str, str]]] = []
    done: list[str] = []
    refused: list[str] = []
    for prompt_dir, versions in _scan_root(root, str(root)).items():
        lock = read_lock(prompt_dir)
        updated = dict(lock)
        for version in sorted(versions.values(), key=lambda v: version_key(v.meta.version)):
            if version.meta.status != "released":
                continue
            pinned = lock.get(version.meta.version)
            if pinned == version.sha256:
                done.append(f"{version.ref} already pinned ({version.sha256[:12]})")
                continue
            if pinned is not None and not force:
                refused.append(f"{version.ref} (pinned {pinned[:12]}, files now {version.sha256[:12]})")
                continue
            verb = "re-pinned" if pinned is not None else "pinned"
            done.append(f"{version.ref} {verb} at {version.sha256[:12]}")
            updated[version.meta.version] = version.sha256
        if updated != lock:
            plans.append((prompt_dir, updated))
    if refused:
        raise PromptError(
            "refusing to change the pin of released version(s) "
            + "; ".join(refused)
            + ": released prompts are immutable, make a new version (or pass --force to re-pin)"
        )
    for prompt_dir, updated in plans:
        write_lock(prompt_dir, updated)
    return done


def _scan_root(root: Path, source: str) -> dict[Path, dict[str, PromptVersion]]:
    """Every version under one prompts folder, by prompt folder then version."""
    found: dict[Path, dict[str, PromptVersion]] = {}
    if not root.is_dir():
        return found
    for prompt_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        for version_dir in sorted(p for p in prompt_dir.iterdir() if p.is_dir() and _VERSION.match(p.name)):
            meta = _load_meta(version_dir)
            if meta.name != prompt_dir.name or meta.version != version_dir.name:
                raise PromptError(
                    f"{version_dir / META_FILE}: name/version say {meta.name}@{meta.version} "
                    f"but the folder is {prompt_dir.name}/{version_dir.name}"
                )
            found.setdefault(prompt_dir, {})[meta.version] = PromptVersion(
                meta, version_dir, hash_version_dir(version_dir), source
            )
    return found


def _load_meta(version_dir: Path) -> PromptMeta:
    path = version_dir / META_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PromptError(f"{version_dir} has no {META_FILE}") from None
    except yaml.YAMLError as exc:
        raise PromptError(f"{path} is not valid YAML: {exc}") from None
    try:
        return PromptMeta.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PromptError(f"{path}: {where}: {first['msg']}") from None
