"""Eval runner throughput against a provider with a fixed latency.

A separate process serves an OpenAI-compatible /v1/chat/completions on
loopback that answers a valid plan after a fixed delay (default 1 s), worded a
little differently in each of 200 answers it cycles through. Each case is a
copy of one shipped case with its own notes. The runner drives it through the real `openai` provider with every scorer of the
shipped suite on, the response cache off, and the results in a throwaway
store. For each (cases, concurrency) it reports wall time against the ideal
cases × latency ÷ concurrency, the harness's overhead and CPU time per case,
and the peak resident memory.

    python benchmarks/eval_throughput.py                      # 50@1, 1000@8, 1000@64
    python benchmarks/eval_throughput.py --runs 200:64 1000:64 --latency 1
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_CASE = ROOT / "evals" / "cases"


def _serve(port: int, latency: float, bodies: list[bytes], ready: multiprocessing.synchronize.Event) -> None:
    """A minimal HTTP/1.1 server: read one request, wait `latency`, answer the next of `bodies`, keep the
    connection."""
    served = itertools.count()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                await asyncio.sleep(latency)
                body = bodies[next(served) % len(bodies)]
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _make_suite(folder: Path, count: int, source: Path) -> Path:
    """`count` copies of one case (each notes file made unique) and a suite naming them."""
    cases = folder / "cases"
    for i in range(count):
        target = cases / f"case-{i:04d}"
        shutil.copytree(source, target)
        notes = target / "notes.md"
        notes.write_text(notes.read_text(encoding="utf-8") + f"\n\n(benchmark copy {i})\n", encoding="utf-8")
    suite = ROOT / "evals" / "suites" / "roadmap.yaml"
    text = suite.read_text(encoding="utf-8").replace("../cases/*", str(cases / "*"))
    path = folder / "suite.yaml"
    path.write_text(text, encoding="utf-8")
    return path


#: Distinct answers the server cycles through: more distinct strings than the scorers' text caches hold,
#: so no case is scored faster for having seen another case's answer.
VARIANTS = 200


def _tag(index: int) -> str:
    """A short lower-case word per variant ("vab"): no digit (a figure) and no capital (a name)."""
    letters = ""
    for _ in range(2):
        index, rest = divmod(index, 26)
        letters = chr(ord("a") + rest) + letters
    return "v" + letters


def _answer_bodies(case: Path, variants: int = VARIANTS) -> list[bytes]:
    """Chat completions answering the offline planner's plan for the case, each variant with its own wording.

    A real model words every answer differently; the variants append a tag word to the free-text fields
    the scorers read (milestones, tasks, objectives, metric names, risks, questions), and leave names,
    figures and quotes alone, so each is still a valid, grounded plan.
    """
    import yaml

    from onboard_llm.inputs import build_handoff
    from onboard_llm.pipeline import render_request
    from onboard_llm.providers.offline import OfflineProvider

    context = yaml.safe_load((case / "context.yaml").read_text(encoding="utf-8"))
    handoff = build_handoff((case / "notes.md").read_text(encoding="utf-8"), context)
    plan = json.loads(OfflineProvider().complete(render_request(handoff)[1]).text)
    bodies = []
    for index in range(variants):
        tag = f" ({_tag(index)})"
        draft = json.loads(json.dumps(plan))
        for phase in draft["phases"]:
            phase["objectives"] = [o + tag for o in phase["objectives"]]
            for milestone in phase["milestones"]:
                milestone["name"] += tag
                milestone["success_check"] += tag
            for task in phase["tasks"]:
                task["title"] += tag
        for metric in draft["success_metrics"]:
            metric["name"] += tag
        for risk in draft["risks"]:
            risk["mitigation"] += tag
        for question in draft["open_questions"]:
            question["question"] += tag
        bodies.append(_completion(json.dumps(draft)))
    return bodies


def _completion(content: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-4.1-mini",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {"prompt_tokens": 3000, "completion_tokens": 8000, "total_tokens": 11000},
        }
    ).encode()


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the runner's worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_once(
    cases: int, concurrency: int, latency: float, source: Path, url: str, processes: int | None = None
) -> dict[str, float | int]:
    # Importing the SDK (with the chat module it loads on first use) is a one-time cost of any command
    # that calls OpenAI, not of the harness: it is paid before the clock starts. A forked worker process
    # shares it; a spawned one pays its own inside the measurement.
    import openai.resources.chat  # noqa: F401

    from onboard_llm.evals.runner import RunOptions, SuiteRunner, settle_memory
    from onboard_llm.evals.store import EvalStore
    from onboard_llm.evals.suite import load_suite
    from onboard_llm.providers.base import ProviderRecipe
    from onboard_llm.providers.retry import RateGate

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        suite = load_suite(_make_suite(folder, cases, source))
        settle_memory()  # as the onboard eval commands do
        # The recipe lets the runner build the same provider in each worker process.
        recipe = ProviderRecipe("openai:gpt-4.1-mini", max_retries=2, options={"api_key": "bench-key", "base_url": url})
        options = RunOptions(
            prompt="roadmap@latest",
            provider=recipe.build(RateGate()),
            concurrency=concurrency,
            recipe=recipe,
            processes=processes,
        )
        with EvalStore(folder / "store.sqlite3") as store:
            runner = SuiteRunner(suite, options, store)
            used = runner.processes_for(cases)
            cpu0, wall0 = _cpu_seconds(), time.perf_counter()
            run = asyncio.run(runner.run())
            wall, cpu = time.perf_counter() - wall0, _cpu_seconds() - cpu0
    ideal = cases * latency / concurrency
    return {
        "cases": cases,
        "concurrency": concurrency,
        "processes": used,
        "scored": run.totals["scored"],
        "errors": run.totals["errors"],
        "wall_s": wall,
        "ideal_s": ideal,
        "efficiency": ideal / wall,
        "overhead_ms_per_case": (wall - ideal) / cases * 1000,
        "cpu_ms_per_case": cpu / cases * 1000,
        # The largest single process: the parent, or a worker process if one grew larger.
        "peak_rss_mb": max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        )
        / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs",
        nargs="+",
        default=["50:1", "1000:8", "1000:64"],
        help="CASES:CONCURRENCY[:PROCESSES] (processes default: the runner's choice)",
    )
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--case", default=None, help="case folder to copy (default: the suite's first)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: one measurement in a fresh process
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    source = Path(args.case) if args.case else sorted(p for p in SOURCE_CASE.iterdir() if p.is_dir())[0]
    if args.one:
        cases, concurrency, *rest = (int(x) for x in args.one.split(":"))
        print(json.dumps(run_once(cases, concurrency, args.latency, source, args.url, rest[0] if rest else None)))
        return

    port = _free_port()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(
        target=_serve, args=(port, args.latency, _answer_bodies(source), ready), daemon=True
    )
    server.start()
    ready.wait(10)
    url = f"http://127.0.0.1:{port}/v1"
    os.environ.pop("OPENAI_API_KEY", None)
    try:
        print(f"latency {args.latency}s per answer, case {source.name}, every scorer of evals/suites/roadmap.yaml")
        print(
            f"{'cases':>6} {'conc':>5} {'procs':>5} {'scored':>6} {'wall s':>8} {'ideal s':>8} {'% ideal':>8} "
            f"{'overhead ms/case':>17} {'cpu ms/case':>12} {'peak RSS MB':>12}"
        )
        for spec in args.runs:
            # Each measurement in its own process, so its peak memory is its own.
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--one",
                    spec,
                    "--url",
                    url,
                    "--latency",
                    str(args.latency),
                    "--case",
                    str(source),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode != 0:
                sys.exit(f"measurement {spec} failed:\n{out.stderr}")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{r['cases']:>6} {r['concurrency']:>5} {r['processes']:>5} {r['scored']:>6} {r['wall_s']:>8.1f} {r['ideal_s']:>8.1f} "
                f"{r['efficiency'] * 100:>7.1f}% {r['overhead_ms_per_case']:>17.1f} {r['cpu_ms_per_case']:>12.1f} "
                f"{r['peak_rss_mb']:>12.0f}"
            )
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
