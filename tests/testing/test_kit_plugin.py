"""The pytest plugin, through pytester: fake_llm locally, ca_dev_server + ca_worker durably, cheap import."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import entry_points

import pytest

from composable_agents import Reasoner, deploy, flow, think
from composable_agents.testing import FakeLLM
from composable_agents.testing.fakes import UnscriptedReasoner

pytest_plugins = ["pytester"]


def test_the_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    found = {e.name: e.value for e in entry_points(group="pytest11")}
    assert found.get("composable_agents") == "composable_agents.testing.plugin"


def test_importing_the_plugin_loads_neither_hypothesis_nor_temporalio() -> None:
    code = (
        "import sys; import composable_agents.testing.plugin as p; "
        "print(sorted(m for m in ('hypothesis', 'temporalio', 'hypothesis_jsonschema') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"


kp_reply = Reasoner(name="kp_reply", model="fake", reply=str)
kp_tag = Reasoner(name="kp_tag", model="fake")


@flow
def kp_flow(text: str) -> str:
    return think(kp_reply, think(kp_tag, text))


def test_fake_llm_scripts_constants_lists_and_functions_and_records_requests() -> None:
    fake = FakeLLM().script("kp_tag", ["first", "second"]).script("kp_reply", lambda v: f"reply to {v}")
    dep = deploy(kp_flow, reasoners=[kp_reply, kp_tag])
    assert dep.dry_run("a", reasoners=fake.fakes(dep)).value == "reply to first"
    assert dep.dry_run("b", reasoners=fake.fakes(dep)).value == "reply to second"
    assert dep.dry_run("c", reasoners=fake.fakes(dep)).value == "reply to second"  # the last one repeats
    assert [(r.name, r.value) for r in fake.requests] == [
        ("kp_tag", "a"),
        ("kp_reply", "first"),
        ("kp_tag", "b"),
        ("kp_reply", "second"),
        ("kp_tag", "c"),
        ("kp_reply", "second"),
    ]
    assert fake.requests[0].reasoner is dep.frozen.reasoners["kp_tag"]
    fake.script("kp_reply", lambda reasoner, v: f"{reasoner.name}:{v}")  # the two-argument LLM form
    assert fake(kp_reply, "x") == "kp_reply:x"
    fake.reset()
    assert fake.requests == []


def test_fake_llm_names_an_unscripted_reasoner() -> None:
    fake = FakeLLM().script("kp_tag", "t")
    with pytest.raises(UnscriptedReasoner, match="kp_reply"):
        fake(kp_reply, "x")
    assert fake.default("anything")(kp_reply, "x") == "anything"


INNER_LOCAL = '''
from composable_agents import Reasoner, deploy, flow, think

inner_r = Reasoner(name="kpi_local", model="fake", reply=str)

@flow
def inner_flow(text: str) -> str:
    return think(inner_r, text)

def test_uses_fake_llm(fake_llm):
    fake_llm.script("kpi_local", lambda v: v[::-1])
    dep = deploy(inner_flow, reasoners=[inner_r])
    assert dep.dry_run("abc", reasoners=fake_llm.fakes(dep)).value == "cba"
    assert [r.value for r in fake_llm.requests] == ["abc"]

def test_fake_llm_is_fresh_per_test(fake_llm):
    assert fake_llm.requests == []
'''


INNER_DURABLE = '''
import uuid
import pytest
from composable_agents import Reasoner, deploy, flow, think

inner_r = Reasoner(name="kpi_durable", model="fake", reply=str)

@flow
def inner_durable(text: str) -> str:
    return think(inner_r, text)

DEP = deploy(inner_durable, reasoners=[inner_r])

@pytest.mark.asyncio
async def test_runs_on_a_worker_with_the_fake(ca_dev_server, ca_worker, fake_llm):
    fake_llm.script("kpi_durable", lambda v: v.upper())
    queue = "kpi-" + uuid.uuid4().hex[:8]
    async with ca_worker(deployments=[DEP], task_queue=queue) as worker:
        result = await worker.run(DEP, "hello", session_id="kpi-" + uuid.uuid4().hex[:8])
    assert result.status == "ok" and result.value == "HELLO"
    assert [(r.name, r.value) for r in fake_llm.requests] == [("kpi_durable", "hello")]
    client = await ca_dev_server.client()
    assert client.namespace == "default"

@pytest.mark.asyncio
async def test_default_queue_is_the_deployments_own(ca_worker, fake_llm):
    fake_llm.script("kpi_durable", ["first", "second"])
    async with ca_worker(deployments=[DEP]) as worker:
        assert worker.task_queue == DEP.policy.task_queue
        result = await DEP.run(worker.client, input="x", session_id="kpi-" + uuid.uuid4().hex[:8])
    assert result.value == "first"
'''


def test_the_fixtures_through_pytester(pytester: pytest.Pytester) -> None:
    # One inner session (one process start): fake_llm locally, then the durable pair.
    pytest.importorskip("temporalio", reason="the durable fixtures need temporalio")
    from composable_agents.temporal.devserver import find_temporal_binary

    try:
        find_temporal_binary()
    except ImportError as exc:
        pytest.skip(str(exc))
    pytester.makepyfile(test_inner_local=INNER_LOCAL, test_inner_durable=INNER_DURABLE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", timeout=240)
    result.assert_outcomes(passed=4)


def test_durable_fixtures_skip_with_the_extra_named_when_temporalio_is_missing(pytester: pytest.Pytester) -> None:
    # A sitecustomize that hides temporalio, as in an install without the temporal extra.
    pytester.makepyfile(
        sitecustomize=textwrap.dedent(
            """
            import sys
            sys.modules["temporalio"] = None  # find_spec() is None and imports fail, as when not installed
            """
        ),
        test_inner_skip="def test_needs_server(ca_dev_server):\n    raise AssertionError('not reached')\n",
    )
    pytester.syspathinsert()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*composable-agents[[]temporal[]]*"])


def test_fake_llm_is_the_llm_of_a_local_run_too() -> None:
    fake = FakeLLM().script("kp_tag", "tagged").script("kp_reply", lambda v: v.upper())
    dep = deploy(kp_flow, reasoners=[kp_reply, kp_tag])
    assert dep.dry_run("x", llm=fake).value == "TAGGED"
    assert [r.reasoner.name for r in fake.requests] == ["kp_tag", "kp_reply"]
