"""Write this folder's cassettes from OpenAI's published wire format, without a key or a network.

For every scenario in ``tests/providers/test_openai.py::CASSETTES`` this plays
the scenario's hand-written responses from the loopback server while vcrpy
records what the real ``openai`` SDK sends and gets (with the same filters as
the test suite), then renames the loopback host to api.openai.com so the
cassette reads like the real thing. Run from the repository root::

    .venv/bin/python tests/providers/cassettes/openai/record_from_loopback.py

Re-run it whenever the prompt, the plan schema or the SDK changes what a
request body looks like (the cassettes match on method, path and body).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROVIDER_TESTS = HERE.parent.parent
sys.path.insert(0, str(PROVIDER_TESTS))

import vcr  # noqa: E402
from conftest import vcr_settings  # noqa: E402
from loopback import LoopbackServer  # noqa: E402
from test_openai import CASSETTES, KEY, cassette_provider  # noqa: E402

from onboard_llm.errors import OnboardError  # noqa: E402

API_HOST = "api.openai.com"


def record(name: str) -> Path:
    scenario = CASSETTES[name]
    path = HERE / f"{name}.yaml"
    path.unlink(missing_ok=True)
    recorder = vcr.VCR(cassette_library_dir=str(HERE), record_mode="all", **vcr_settings())
    with LoopbackServer(scenario.replies) as server:
        waits: list[float] = []
        provider = cassette_provider(server.url + "/v1", waits)
        with recorder.use_cassette(path.name):
            try:
                scenario.run(provider)
            except OnboardError as exc:  # the failure scenarios end in an error, by design
                print(f"  {name}: {type(exc).__name__}: {exc}")
        host = server.url.removeprefix("http://")
        unused = len(scenario.replies) - len(server.requests)
    if unused:
        raise SystemExit(f"{name}: {unused} scripted replies were never asked for")
    text = path.read_text(encoding="utf-8")
    text = text.replace(f"http://{host}", f"https://{API_HOST}").replace(host, API_HOST)
    if re.search(r"127\.0\.0\.1|localhost", text):
        raise SystemExit(f"{name}: the loopback host is still in the cassette")
    path.write_text(text, encoding="utf-8")
    return path


def main() -> None:
    # The dummy key, and nothing from this machine's OpenAI settings, goes into the recording.
    for var in [v for v in os.environ if v.startswith("OPENAI_")]:
        del os.environ[var]
    os.environ["OPENAI_API_KEY"] = KEY
    names = sys.argv[1:] or list(CASSETTES)
    for name in names:
        print(f"wrote {record(name).relative_to(Path.cwd())}")


if __name__ == "__main__":
    main()
