"""The dynamic-shape and @flow ladder examples run keyless and produce the documented outputs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from example_modules import load


def test_episode_summary_flow() -> None:
    out = load("episode_summary_flow").main()
    assert out["first"] == {"saved": True, "conflict": False, "version": 4}
    assert out["replay"] == out["first"]  # same run id → same idempotency key → applied once
    assert out["stale"] == {"saved": False, "conflict": True, "version": 5}
    assert out["stored"] == {"version": 5, "summary": "ep-7: Ada and Grace discuss durable workflows."}


def test_cluster_labeling_flow() -> None:
    module = load("cluster_labeling_flow")
    rows = module.main()
    assert rows == [
        {"id": "c1", "size": 4, "confidence": "high", "label": "billing",
         "description": "3 examples like 'refund request'"},
        {"id": "c2", "size": 2, "confidence": "low", "label": "account",
         "description": "2 examples like 'password reset'"},
        {"id": "c3", "size": 3, "confidence": "high", "label": "feature-request",
         "description": "3 examples like 'dark mode please'"},
    ]
    # the two reasoner steps of a cluster were inferred independent: they share one par
    from composable_agents.core.codec import walk
    from composable_agents.core.ir import Par, Prim, ThinkStep

    def thinks(node: Any) -> set[str]:
        return {n.step.reasoner for _i, n, _p in walk(node) if isinstance(n, Prim) and isinstance(n.step, ThinkStep)}

    pars = [n for _i, n, _p in walk(module.label_clusters.to_ir()) if isinstance(n, Par)]
    assert any(
        [thinks(b) for b in p.branches if thinks(b)] in (
            [{"cluster_namer"}, {"cluster_describer"}], [{"cluster_describer"}, {"cluster_namer"}]
        )
        for p in pars
    )


def test_support_triage() -> None:
    out = load("support_triage").main()
    assert out["T-100"] == {
        "status": "ok",
        "value": {"ticket": "T-100", "resolution": "refunded", "refunded": 42, "customer": "ada"},
    }
    assert out["T-200"] == {"status": "escalated", "reason": "T-200: cannot log in needs a human"}
    assert out["denied"] == ["crm_delete_customer"]
    assert out["rounds"] == 5 and out["refunds"] == 1


def test_research_assistant() -> None:
    out = load("research_assistant").main()
    assert out["tight"]["status"] == "over_budget"
    assert out["tight"]["refused"] == "tool:research_fetch"
    assert out["tight"]["fetched"] == []  # the refused fetch never ran
    assert out["tight"]["spent"] == pytest.approx(0.022)
    assert out["roomy"] == {
        "status": "ok",
        "value": {"topic": "durable execution", "notes": ["notes from temporal.io/docs", "notes from dbos.dev/why"]},
    }


def test_email_approval() -> None:
    out: dict[str, Any] = load("email_approval").main()
    assert out["approved"] == {"status": "ok", "value": {"sent": True, "to": "ada@example.com"}}
    assert out["rejected"] == {"status": "rejected", "reason": "wrong tone"}
    assert out["timeout"] == {"status": "timeout", "reason": "timeout"}
    assert out["sent"] == ["ada@example.com"]  # only the approved run sent
    assert out["ungated_deploy"] == ["APPROVAL_UNGATED"]


def test_session_demo() -> None:
    out = asyncio.run(load("session_demo").main())
    assert out == {
        "same_ack": True,
        "replies": ["(1) you said: hello", "(2) you said: what is a carrier?"],
        "history": [
            {"user": "hello", "bot": "(1) you said: hello"},
            {"user": "what is a carrier?", "bot": "(2) you said: what is a carrier?"},
        ],
        "last_event": "closed",
        "turns": 2,
    }
