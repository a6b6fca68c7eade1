"""A run killed with SIGKILL midway, then resumed, ends with every case scored exactly once.

The CLI runs in a real subprocess against an OpenAI-compatible server on loopback
that answers slowly, so the kill lands while cases are in flight.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from onboard_llm.evals.store import EvalStore

pytestmark = pytest.mark.block_network(allowed_hosts=["127.0.0.1"])

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "plans"
NOTES = (FIXTURES / "valid_notes.md").read_text(encoding="utf-8")
VALID = (FIXTURES / "valid_draft.json").read_text(encoding="utf-8")
CASES = 8


class _SlowChat(BaseHTTPRequestHandler):
    requests = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with _SlowChat.lock:
            _SlowChat.requests += 1
        time.sleep(0.4)
        body = json.dumps(
            {
                "id": "chatcmpl-kill",
                "object": "chat.completion",
                "created": 0,
                "model": "slow-model",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": VALID},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client killed mid-request leaves a broken pipe behind; that is the point of these tests


@pytest.fixture
def server() -> Iterator[str]:
    httpd = _QuietServer(("127.0.0.1", 0), _SlowChat)
    _SlowChat.requests = 0
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def make_suite(folder: Path) -> Path:
    golden = json.loads((ROOT / "tests" / "evals" / "fixtures" / "kestrel_golden.json").read_text())
    for i in range(CASES):
        case = folder / "cases" / f"case-{i:02d}"
        case.mkdir(parents=True)
        (case / "notes.md").write_text(NOTES + f"\nCase {i}.\n", encoding="utf-8")
        (case / "context.yaml").write_text("company: Kestrel Freight Logistics\nstart_date: 2027-02-15\n")
        (case / "golden.json").write_text(json.dumps(golden))
    suite = folder / "suite.yaml"
    suite.write_text("name: kill\ncases: [cases/*]\nscorers: [{name: schema}, {name: structure}]\n")
    return suite


def cli(args: list[str], db: Path) -> list[str]:
    return [sys.executable, str(ROOT / "cli.py"), "eval", "run", *args, "--db", str(db), "--no-cache"]


def wait_for_results(db: Path, count: int, timeout: float = 60) -> int:
    """Poll the store until the run has ``count`` results (or the time is up); returns how many it has."""
    deadline = time.monotonic() + timeout
    saved = 0
    while time.monotonic() < deadline and saved < count:
        time.sleep(0.1)
        if db.exists():
            with EvalStore(db) as store:
                runs = store.list_runs()
                saved = len(store.results(runs[0].id)) if runs else 0
    return saved


@pytest.mark.parametrize("processes", ["1", "2"])
def test_sigkill_then_resume_scores_every_case_once(tmp_path: Path, server: str, processes: str) -> None:
    # With two processes the SIGKILL lands on the parent only: its worker process must die with it
    # (or it would go on answering cases behind the resumed run's back).
    suite = make_suite(tmp_path)
    db = tmp_path / "store.sqlite3"
    provider = ["--provider", "openai-compatible:slow-model", "--base-url", server, "--concurrency", "2"]
    provider += ["--processes", processes]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONBOARD_")}
    proc = subprocess.Popen(
        cli([str(suite), *provider], db), env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        assert wait_for_results(db, 3) >= 3, "the run never got going"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    with EvalStore(db) as store:
        (run,) = store.list_runs()
        kept = store.results(run.id)
        assert run.status == "running"  # killed: nobody marked it finished
        assert 3 <= len(kept) < CASES
    requests_before = _SlowChat.requests
    time.sleep(1.2)  # three answers' time: a worker process that outlived its parent would ask again
    assert _SlowChat.requests == requests_before, "a worker process survived its parent"

    resumed = subprocess.run(
        cli([str(suite), *provider, "--resume", run.id], db),
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    with EvalStore(db) as store:
        final = store.get_run(run.id)
        results = store.results(run.id)
    assert final is not None and final.status == "complete"
    keys = [(r.case_id, r.repeat) for r in results]
    assert sorted(keys) == [(f"case-{i:02d}", 0) for i in range(CASES)]  # every case, exactly once
    assert all(r.error is None and r.total is not None for r in results)
    # The resumed run asked only for what was missing.
    assert _SlowChat.requests - requests_before == CASES - len(kept)


@pytest.mark.parametrize("processes", ["1", "2"])
def test_ctrl_c_stops_cleanly_and_keeps_what_finished(tmp_path: Path, server: str, processes: str) -> None:
    suite = make_suite(tmp_path)
    db = tmp_path / "store.sqlite3"
    provider = ["--provider", "openai-compatible:slow-model", "--base-url", server, "--concurrency", "2"]
    provider += ["--processes", processes]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONBOARD_")}
    proc = subprocess.Popen(
        cli([str(suite), *provider], db),
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_results(db, 2)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "interrupted" in stderr and "--resume" in stderr and "Traceback" not in stderr
    with EvalStore(db) as store:
        (run,) = store.list_runs()
        assert run.status == "interrupted"
        assert 2 <= len(store.results(run.id)) < CASES
