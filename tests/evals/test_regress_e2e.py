"""``onboard eval regress`` end to end: roadmap@v1 against roadmap@v2 through the CLI and a real SDK.

A fake OpenAI-compatible server on loopback plays a model that follows whichever
prompt it is sent. When the request carries v2's system prompt (found by a phrase
only v2 has) it answers the offline planner's plan for the case; for v1 it answers
the same plan with the faults v2's instructions target: an invented person named
"Sarah" (every case's must_not_mention), stated goals dropped, and milestones
moved off their days. Both answers are valid plan drafts that keep every domain
rule, so each takes one request and every scorer sees the whole plan.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from junitparser import Failure, JUnitXml, TestSuite

from onboard_llm.cli import cli
from onboard_llm.evals.compare import IMPROVEMENT, NO_CHANGE, REGRESSION
from onboard_llm.evals.suite import EvalCase, load_suite
from onboard_llm.parsing import parse_plan
from onboard_llm.pipeline import render_request
from onboard_llm.providers.offline import OfflineProvider

pytestmark = pytest.mark.block_network(allowed_hosts=["127.0.0.1"])

REPO = Path(__file__).resolve().parents[2]
SUITE_PATH = REPO / "evals" / "suites" / "roadmap.yaml"
SUITE = load_suite(SUITE_PATH)
CASE_IDS = [c.id for c in SUITE.cases]
#: A heading of v2's system prompt that v1 lacks (checked by test_the_marker_tells_the_versions_apart).
V2_MARKER = "Check before you answer"
INVENTED = "Sarah Whitcombe"
MODEL = "fake-model"


# -- the answers ---------------------------------------------------------------------------------------


def good_plan(case: EvalCase) -> dict[str, Any]:
    """What a model following v2 answers: the offline planner's plan for the case."""
    _, request = render_request(case.handoff, "roadmap@v2")
    plan: dict[str, Any] = json.loads(OfflineProvider().complete(request).text)
    return plan


def worse_plan(case: EvalCase) -> dict[str, Any]:
    """What a model following v1 answers: the good plan with an invented person, one goal, milestones moved."""
    plan = good_plan(case)
    # Attendees and recipients are free text to the domain rules, so the plan stays valid;
    # the grounding scorer (people) and the facts scorer (must_not_mention "Sarah") see the name.
    for meeting in plan["meetings"]:
        if meeting["kind"] == "kickoff":
            meeting["attendees"].append(INVENTED)
    for message in plan["communications"]:
        if message["kind"] == "welcome":
            message["recipients"].append(INVENTED)
    plan["stated_goals"] = plan["stated_goals"][:1]
    # Later by more than the fields scorer's 7-day tolerance where the phase allows, never out of it.
    for phase in plan["phases"]:
        for milestone in phase["milestones"]:
            milestone["day"] = min(milestone["day"] + 10, phase["end_day"])
    return plan


def chat_completion(plan: dict[str, Any]) -> bytes:
    body = {
        "id": "chatcmpl-regress",
        "object": "chat.completion",
        "created": 1_790_000_000,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": json.dumps(plan), "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 3000, "completion_tokens": 2000, "total_tokens": 5000},
    }
    return json.dumps(body).encode("utf-8")


ANSWERS: dict[tuple[str, str], bytes] = {}


def answers() -> dict[tuple[str, str], bytes]:
    """(prompt version, case id) -> the chat completion to send; built once, on first use."""
    if not ANSWERS:
        for case in SUITE.cases:
            ANSWERS["v2", case.id] = chat_completion(good_plan(case))
            ANSWERS["v1", case.id] = chat_completion(worse_plan(case))
    return ANSWERS


# -- the fake model --------------------------------------------------------------------------------------


@dataclass
class FakeModel:
    """The server's record: one (version, case) per request, in arrival order."""

    url: str
    seen: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, version: str | None = None) -> int:
        with self.lock:
            return sum(1 for v, _ in self.seen if version is None or v == version)


def _route(body: dict[str, Any]) -> tuple[str, str]:
    messages = {m["role"]: m["content"] for m in body["messages"]}
    version = "v2" if V2_MARKER in messages["system"] else "v1"
    user = messages["user"]
    found = [c.id for c in SUITE.cases if f"company: {c.handoff.context.company}\n" in user]
    if len(found) != 1:
        raise LookupError(f"the request matches {len(found)} cases: {found}")
    return version, found[0]


@pytest.fixture
def fake_model() -> Iterator[FakeModel]:
    replies = answers()
    server_ref: list[FakeModel] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                key = _route(json.loads(raw))
                payload, status = replies[key], 200
            except (LookupError, ValueError, TypeError) as exc:
                # 418: a status no retry policy retries, so a surprise fails the run at once.
                key, status = ("?", "?"), 418
                payload = json.dumps({"error": {"message": f"fake model: {exc}", "type": "test"}}).encode()
            model = server_ref[0]
            with model.lock:
                model.seen.append(key)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    server_ref.append(FakeModel(f"http://127.0.0.1:{httpd.server_address[1]}/v1"))
    try:
        yield server_ref[0]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


# -- running the CLI -----------------------------------------------------------------------------------


@dataclass
class Reports:
    md: Path
    junit: Path
    json: Path
    html: Path

    def args(self) -> list[str]:
        return ["--md", str(self.md), "--junit", str(self.junit), "--json", str(self.json), "--html", str(self.html)]


def reports(folder: Path, name: str) -> Reports:
    return Reports(*(folder / f"{name}.{ext}" for ext in ("md", "xml", "json", "html")))


def regress(
    folder: Path, baseline: str, candidate: str, provider: list[str], *extra: str, cache: list[str] | None = None
) -> Result:
    args = [
        "eval", "regress", str(SUITE_PATH), "--baseline", baseline, "--candidate", candidate, *provider,
        "--db", str(folder / "evals.sqlite3"), "--concurrency", "2",
        *(cache if cache is not None else ["--cache-dir", str(folder / "cache")]), *extra,
    ]  # fmt: skip
    return CliRunner().invoke(cli, args, prog_name="onboard")


def served(model: FakeModel) -> list[str]:
    return ["--provider", f"openai-compatible:{MODEL}", "--base-url", model.url, "--max-retries", "0"]


def actions(result: Result) -> dict[str, str]:
    """role -> "ran" / "reused" / "resumed", from the lines regress prints as each side is ready."""
    found = {}
    for line in result.stdout.splitlines():
        role, _, rest = line.partition(": ")
        if role in ("baseline", "candidate") and " run " in rest:
            found[role] = rest.split()[1]
    return found


def junit_failures(path: Path) -> set[tuple[str, str]]:
    xml = JUnitXml.fromfile(str(path))
    suite = xml if isinstance(xml, TestSuite) else next(iter(xml))
    return {(case.classname, case.name) for case in suite if any(isinstance(r, Failure) for r in case.result)}


# -- the tests -------------------------------------------------------------------------------------------


def test_the_marker_tells_the_versions_apart_and_both_answers_keep_the_rules() -> None:
    case = SUITE.cases[0]
    v1, _ = render_request(case.handoff, "roadmap@v1")
    v2, _ = render_request(case.handoff, "roadmap@v2")
    assert V2_MARKER in v2.messages[0].content and V2_MARKER not in v1.messages[0].content
    for case in SUITE.cases:
        for plan in (good_plan(case), worse_plan(case)):
            parsed = parse_plan(json.dumps(plan), source_text=case.handoff.source_text)
            assert parsed.stage == "ok", (case.id, parsed.errors)


def test_v2_is_an_improvement_over_v1(isolated: Path, fake_model: FakeModel) -> None:
    out = reports(isolated, "v1-v2")
    result = regress(isolated, "roadmap@v1", "roadmap@v2", served(fake_model), *out.args())
    assert result.exit_code == 0, result.stdout + result.stderr
    assert actions(result) == {"baseline": "ran", "candidate": "ran"}
    assert f"verdict: {IMPROVEMENT} (total delta +" in result.stdout
    assert "pairs got worse" not in result.stdout
    # One request per case and version: nothing was re-asked or retried.
    assert sorted(fake_model.seen) == sorted((v, c) for v in ("v1", "v2") for c in CASE_IDS)

    data = json.loads(out.json.read_text(encoding="utf-8"))
    assert data["verdict"] == IMPROVEMENT and data["regressed"] is False and data["pairs"] == len(CASE_IDS)
    assert data["baseline"]["prompt"] == "roadmap@v1" and data["candidate"]["prompt"] == "roadmap@v2"
    assert data["baseline"]["provider"] == "openai-compatible" and data["baseline"]["model"] == MODEL
    metrics = {m["name"]: m for m in data["metrics"]}
    for name in ("total", "facts.avoid", "grounding.people", "fields.stated_goals", "fields.milestones"):
        assert metrics[name]["mean_delta"] > 0, (name, metrics[name])
    assert metrics["schema"]["mean_delta"] == 0  # both answers are valid plans
    assert data["worse_cases"] == []

    md = out.md.read_text(encoding="utf-8")
    assert md.startswith("**Improvement**") and "`roadmap@v1`" in md and "`roadmap@v2`" in md
    assert junit_failures(out.junit) == set()
    html = out.html.read_text(encoding="utf-8")
    assert "<html" in html.lower() and IMPROVEMENT in html and "roadmap@v2" in html


def test_v1_after_v2_is_a_regression_naming_cases_and_fields(isolated: Path, fake_model: FakeModel) -> None:
    out = reports(isolated, "v2-v1")
    result = regress(isolated, "roadmap@v2", "roadmap@v1", served(fake_model), *out.args())
    assert result.exit_code == 1, result.stdout + result.stderr
    stdout = result.stdout
    assert f"verdict: {REGRESSION} (total delta -" in stdout
    assert f"{len(CASE_IDS)} pairs got worse:" in stdout
    worse = stdout[stdout.index("pairs got worse:") :]
    for case_id in CASE_IDS:
        assert f"  {case_id} #0: total " in worse, case_id
    # The fields that dropped, each with what the scorer found new in the candidate.
    for needle in (
        "facts.avoid: -",
        "must not mention 'Sarah', but the plan does",
        "grounding.people: -",
        f"person '{INVENTED}'",
        "fields.stated_goals: -",
        "uncovered goal '",
        "fields.milestones: -",
    ):
        assert needle in worse, needle

    data = json.loads(out.json.read_text(encoding="utf-8"))
    assert data["verdict"] == REGRESSION and data["regressed"] is True
    assert sorted(w["case_id"] for w in data["worse_cases"]) == CASE_IDS
    for worse_case in data["worse_cases"]:
        assert worse_case["deltas"]["facts.avoid"] < 0 and worse_case["deltas"]["grounding.people"] < 0

    md = out.md.read_text(encoding="utf-8")
    assert md.startswith("**Regression**")
    assert f"`{data['worse_cases'][0]['case_id']}#0`" in md  # the worst case leads the list
    failed = junit_failures(out.junit)
    assert {classname for classname, _ in failed} >= {f"roadmap.{case_id}" for case_id in CASE_IDS}
    assert ("roadmap.gannet-inn-scheduling", "facts#0") in failed
    html = out.html.read_text(encoding="utf-8")
    assert REGRESSION in html and "gannet-inn-scheduling" in html


def test_a_second_regress_reuses_the_stored_runs(isolated: Path, fake_model: FakeModel) -> None:
    # No response cache: only the eval store can spare the second run its requests.
    no_cache = ["--no-cache"]
    first = regress(isolated, "roadmap@v1", "roadmap@v2", served(fake_model), cache=no_cache)
    assert first.exit_code == 0, first.stdout + first.stderr
    assert actions(first) == {"baseline": "ran", "candidate": "ran"}
    assert (fake_model.count("v1"), fake_model.count("v2")) == (len(CASE_IDS), len(CASE_IDS))

    second = regress(isolated, "roadmap@v1", "roadmap@v2", served(fake_model), cache=no_cache)
    assert second.exit_code == 0, second.stdout + second.stderr
    assert actions(second) == {"baseline": "reused", "candidate": "reused"}
    assert fake_model.count() == 2 * len(CASE_IDS), "the second regress sent requests"
    run_ids = [line.split(" run ")[1].split()[0] for line in first.stdout.splitlines() if " ran run " in line]
    assert len(run_ids) == 2 and all(run_id in second.stdout for run_id in run_ids)
    assert f"verdict: {IMPROVEMENT}" in second.stdout


def test_offline_planner_sees_no_difference_between_v1_and_v2(isolated: Path) -> None:
    # The offline planner reads the handoff, not the prompt's prose: both versions give the same plans.
    out = reports(isolated, "offline")
    result = regress(isolated, "roadmap@v1", "roadmap@v2", ["--provider", "offline"], "--json", str(out.json))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"verdict: {NO_CHANGE} (total delta +0.000" in result.stdout
    assert "pairs got worse" not in result.stdout
    data = json.loads(out.json.read_text(encoding="utf-8"))
    assert data["verdict"] == NO_CHANGE and data["regressed"] is False and data["pairs"] == len(CASE_IDS)
    assert all(m["mean_delta"] == 0 for m in data["metrics"])
