"""``ca ls``/``graph``/``show``/``lint`` on the fixture project, as a user runs them: exact output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cli_fixtures import Ca, run_ca

LS = """\
NAME          KIND     SHAPE     TAGS         DEPENDS ON
echo          session  Feedback  -            -
escalate.v1   arrow    Pipeline  ops,support  triage.v1
helper        agent    Agent     support      triage.v1
quick_refund  flow     Pipeline  billing      -
refund.v1     arrow    Pipeline  billing      -
triage.v1     flow     Dataflow  support      -
"""


def test_ls_lists_every_entry_with_kind_shape_tags_and_dependencies(ca: Ca) -> None:
    done = ca("ls")
    assert (done.returncode, done.stdout, done.stderr) == (0, LS, "")


def test_ls_json_and_the_ca_script(ca: Ca, project: Path) -> None:
    rows = json.loads(ca("ls", "--format", "json").stdout)
    assert [r["name"] for r in rows] == ["echo", "escalate.v1", "helper", "quick_refund", "refund.v1", "triage.v1"]
    assert rows[2] == {
        "name": "helper", "kind": "agent", "shape": "Agent", "tags": ["support"],
        "dependencies": ["triage.v1"], "module": "support.agents",
    }
    # The console script installed by [project.scripts] is the same program.
    script = Path(sys.executable).with_name("ca")
    assert script.is_file(), "pip install -e '.[cli]' installs the ca script next to python"
    same = subprocess.run([str(script), "ls"], cwd=project, capture_output=True, text=True, check=False)
    assert (same.returncode, same.stdout) == (0, LS)


def test_rich_output_on_a_terminal_and_no_color(ca: Ca) -> None:
    coloured = ca("ls", CA_FORCE_TERMINAL="1").stdout
    assert "\x1b[" in coloured and "│" in coloured and "triage.v1" in coloured
    plain = ca("ls", CA_FORCE_TERMINAL="1", NO_COLOR="1").stdout
    assert "\x1b[" not in plain and "│" in plain and "triage.v1" in plain


def test_graph_dot_mermaid_json_svg(ca: Ca) -> None:
    dot = ca("graph", "tag:support")
    assert dot.returncode == 0
    assert dot.stdout == (
        'digraph "agents" {\n  rankdir=TB;\n  node [shape=box];\n'
        '  "escalate.v1" [label="escalate.v1 (arrow)"];\n'
        '  "helper" [label="helper (agent)"];\n'
        '  "triage.v1" [label="triage.v1 (flow)"];\n'
        '  "escalate.v1" -> "triage.v1";\n  "helper" -> "triage.v1";\n}\n'
    )
    mermaid = ca("graph", "--format", "mermaid", "+helper").stdout
    assert mermaid == 'graph TD\n  n0["helper (agent)"]\n  n1["triage.v1 (flow)"]\n  n0 --> n1\n'
    doc = json.loads(ca("graph", "--format", "json").stdout)
    assert {(e["from"], e["to"]) for e in doc["edges"]} == {("escalate.v1", "triage.v1"), ("helper", "triage.v1")}
    assert len(doc["nodes"]) == 6
    svg = ca("graph", "--format", "svg").stdout
    assert svg.lstrip().startswith("<svg") and svg.rstrip().endswith("</svg>")
    for name in ("triage.v1", "helper", "escalate.v1", "echo"):
        assert name in svg


def test_graph_steps_of_one_flow(ca: Ca) -> None:
    dot = ca("graph", "--steps", "triage.v1").stdout
    for line in ('"$.0" [label="$.0 call lookup_ticket"];', '"$.1.1.1" [label="$.1.1.1 think support_reply"];',
                 '"$.2" [label="$.2 arr std.merge"];', '"$.1" -> "$.1.1";'):
        assert line in dot
    svg = ca("graph", "--steps", "triage.v1", "--format", "svg")
    assert svg.returncode == 0 and svg.stdout.lstrip().startswith("<svg")
    assert "lookup_ticket" in svg.stdout and "support_reply" in svg.stdout
    bad = ca("graph", "--format", "png")
    assert bad.returncode == 2 and "choose one of dot, mermaid, json, svg" in bad.stderr


def test_show_prints_one_entry(ca: Ca) -> None:
    done = ca("show", "triage.v1")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[:5] == ["name:          triage.v1", "kind:          flow", "shape:         Dataflow",
                         "closed_shape:  Dataflow", "module:        support.flows"]
    assert lines[5].startswith("artifact_hash: sha256:")
    assert lines[6:] == ["tags:          support", "dependencies:  -", "dependents:    escalate.v1, helper",
                         "tools:         lookup_ticket", "reasoners:     support_reply"]
    doc = json.loads(ca("show", "quick_refund", "--format", "json").stdout)
    assert [d["code"] for d in doc["diagnostics"]] == ["APPROVAL_UNGATED"]
    missing = ca("show", "nope")
    assert missing.returncode == 2 and "no flow, agent or session named 'nope'" in missing.stderr


def test_lint_exits_1_on_a_blocking_diagnostic_and_0_on_a_clean_selection(ca: Ca) -> None:
    bad = ca("lint")
    assert bad.returncode == 1
    out = bad.stdout.splitlines()
    assert out[:4] == ["ok    echo", "ok    escalate.v1", "ok    helper", "FAIL  quick_refund"]
    assert "      - [APPROVAL_UNGATED@$] error: dangerous tool 'issue_refund' is reachable without a human_gate before it" in out
    assert out[-1] == "6 checked, 1 blocking"
    assert bad.stderr == "error: blocking diagnostics in: quick_refund\n"
    good = ca("lint", "tag:support")
    assert (good.returncode, good.stdout) == (0, "ok    escalate.v1\nok    helper\nok    triage.v1\n3 checked, 0 blocking\n")
    report = json.loads(ca("lint", "--format", "json", "tag:billing").stdout)
    assert [(r["name"], r["blocking"]) for r in report] == [("quick_refund", True), ("refund.v1", False)]


def test_usage_errors_exit_2(ca: Ca, project: Path, tmp_path: Path) -> None:
    unknown = ca("ls", "--bogus")
    assert unknown.returncode == 2 and "No such option" in unknown.stderr
    fmt = ca("ls", "--format", "yaml")
    assert fmt.returncode == 2 and fmt.stderr == "error: --format 'yaml': choose one of text, json\n"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    nowhere = run_ca("ls", cwd=elsewhere)
    assert nowhere.returncode == 2 and "no project found" in nowhere.stderr
    # -m replaces the project's modules; --path finds the project from another directory.
    by_module = run_ca("ls", "-m", "support.chat", "--path", str(project), cwd=elsewhere)
    assert (by_module.returncode, by_module.stdout.splitlines()[1:]) == (0, ["echo  session  Feedback  -     -"])
    assert run_ca("--help", cwd=elsewhere).returncode == 0
    flows = project / "support" / "flows.py"
    flows.write_text(flows.read_text() + "\n\n@flow\ndef broken(x: str) -> str:\n    if x:\n        return x\n    return x\n")
    broken = ca("ls")
    assert broken.returncode == 2
    assert broken.stderr.startswith("error: project module 'support.flows' failed to build: DefineError: ")
    assert "`if` on a handle" in broken.stderr and "Traceback" not in broken.stderr


def test_ls_imports_neither_temporalio_nor_rich(project: Path) -> None:
    # Cold start (benchmarks/bench_cli.py): a piped `ca ls` must not pay for the durable layer or rich.
    code = (
        "import runpy, sys\n"
        "sys.argv = ['ca', 'ls']\n"
        "try:\n    runpy.run_module('composable_agents', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('temporalio', 'rich')), 'cli.ls' in str(sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=False)
    assert done.stdout.splitlines()[-1] == "[] True", done.stderr
