"""Hypothesis strategies for what crosses a flow's model boundary: replies, controller actions, plans.

Every strategy is derived from what the library itself checks at run time:
``replies`` from the reply type's JSON Schema (:func:`~composable_agents.core.schema.schema_of`,
through ``hypothesis-jsonschema``), ``actions`` from the agent's granted tools
and their input schemas, ``plans`` from the deployment's frozen tools. The
oracles that say whether a generated value is *valid* (:func:`reply_is_valid`,
:func:`action_is_valid`, :func:`plan_is_valid`) are the run-time checkers
themselves (the compiled validator, ``parse_action`` plus the grant list,
``check_plan``), so a strategy and the boundary can never disagree.

Rejected: hand-written generators per type (they drift from the schemas the
validator checks) and pydantic-ai-style fixed fake replies (they never find
the reply that breaks a flow).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final, TypeVar

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from composable_agents.authoring.leaves import Reasoner, ToolDef
from composable_agents.core.canonical import Json
from composable_agents.core.codec import walk
from composable_agents.core.ir import App, EvalPlan, Node
from composable_agents.core.schema import is_any, schema_of, validator_for
from composable_agents.execution.agent_loop import CallSub, CallTool, ControllerError, parse_action
from composable_agents.execution.staged import PlanContext, check_plan, plan_context
from composable_agents.testing._native import native_strategy

__all__ = [
    "action_is_valid",
    "actions",
    "bad_replies",
    "draft7",
    "json_values",
    "plan_is_valid",
    "plans",
    "replies",
    "reply_is_valid",
]

_N = TypeVar("_N", bound=Node)

_KEYS: Final = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
_SCALARS: Final = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False, width=64)
    | st.text(max_size=20)
)


def json_values(*, max_leaves: int = 8) -> st.SearchStrategy[Json]:
    """Any JSON value: scalars, lists and string-keyed objects, small by default."""
    return st.recursive(
        _SCALARS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
        max_leaves=max_leaves,
    )


def draft7(schema: Any) -> Any:
    """``schema`` (our draft 2020-12 subset) rewritten for ``hypothesis-jsonschema`` (draft 7).

    The only keyword that changed meaning between the drafts in what
    ``schema_of`` emits is the tuple form: ``prefixItems`` + ``items`` became
    ``items`` (a list) + ``additionalItems``. ``$defs``/``$ref`` pointers
    resolve the same in both.
    """
    if isinstance(schema, list):
        return [draft7(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: draft7(v) for k, v in schema.items()}
    if "prefixItems" in out:
        out["items"] = out.pop("prefixItems")
        rest = schema.get("items")
        if rest is not None:
            out["additionalItems"] = draft7(rest)
        else:
            out.pop("additionalItems", None)
    return out


def _from_schema(schema: Any) -> st.SearchStrategy[Json] | None:
    """Values of ``schema``: native strategies for plain schemas, else ``from_schema``, else ``None``."""
    fast = native_strategy(schema, json_values())
    if fast is not None:
        return fast
    try:
        strategy: st.SearchStrategy[Json] = from_schema(draft7(schema))
        # Building is lazy; resolve now so a recursive $ref fails here, not mid-run.
        strategy.validate()
    except Exception:  # noqa: BLE001 - any unsupported schema: the caller falls back
        return None
    return strategy


def _schema_strategy(schema: Any, tp: object) -> st.SearchStrategy[Json]:
    """Values of ``schema`` (of type ``tp``); an unsupported schema falls back to JSON ``tp``'s validator admits."""
    validator = validator_for(tp)
    strategy = _from_schema(schema)
    if strategy is None:
        return json_values(max_leaves=12).filter(validator.is_valid)
    return strategy


def _reply_type(reasoner: Reasoner[Any, Any]) -> object | None:
    reply = reasoner.reply
    return None if reply is None or is_any(reply) else reply


def reply_is_valid(reasoner: Reasoner[Any, Any], value: Json) -> bool:
    """Whether ``value`` passes ``reasoner``'s reply check (text, for a reasoner without ``reply=``)."""
    tp = _reply_type(reasoner)
    if tp is None:
        return isinstance(value, str)
    return validator_for(tp).is_valid(value)


def replies(reasoner: Reasoner[Any, Any]) -> st.SearchStrategy[Json]:
    """Replies valid for ``reasoner``'s reply type, generated from its JSON Schema.

    A reasoner without ``reply=`` answers text (SPEC §17), so its replies are strings.
    """
    tp = _reply_type(reasoner)
    if tp is None:
        return st.text(max_size=40)
    return _schema_strategy(schema_of(tp), tp)


def _wrong_type(value: Json) -> st.SearchStrategy[Json]:
    """A value of another JSON type than ``value``'s."""
    options: list[Json] = [None, "", "not the expected value", 0, -1, 3.5, True, [], {}, [None], {"x": None}]
    return st.sampled_from([o for o in options if type(o) is not type(value)])


def _mutate(value: Json) -> st.SearchStrategy[Json]:
    """``value`` broken in one place: a key dropped, a member of the wrong type, the whole retyped."""
    choices: list[st.SearchStrategy[Json]] = [_wrong_type(value)]
    if isinstance(value, dict) and value:
        keys = sorted(value)
        choices.append(st.sampled_from(keys).map(lambda k: {x: v for x, v in value.items() if x != k}))
        choices.append(
            st.sampled_from(keys).flatmap(lambda k: _wrong_type(value[k]).map(lambda w: {**value, k: w}))
        )
    if isinstance(value, list) and value:
        choices.append(
            st.integers(0, len(value) - 1).flatmap(
                lambda i: _wrong_type(value[i]).map(lambda w: [*value[:i], w, *value[i + 1 :]])
            )
        )
    return st.one_of(choices)


def bad_replies(reasoner: Reasoner[Any, Any]) -> st.SearchStrategy[Json]:
    """Replies ``reasoner``'s check rejects: near misses, other JSON and stray text.

    A near miss is a valid reply broken in one place: a key dropped, a member
    of the wrong type, the whole of another type. Every value is filtered
    through the reply validator, so nothing here passes the check. For a
    reasoner without ``reply=`` (a text answer): any non-text JSON.
    """
    tp = _reply_type(reasoner)
    if tp is None:
        return json_values().filter(lambda v: not isinstance(v, str))
    valid = validator_for(tp)
    near = replies(reasoner).flatmap(_mutate)
    text = st.text(max_size=40)
    return st.one_of(near, text, json_values()).filter(lambda v: not valid.is_valid(v))


# -- agents --------------------------------------------------------------------------


def _nodes_of(kind: type[_N], node: Node, subflows: Mapping[str, Node] | None) -> list[_N]:
    """Every ``kind`` node in ``node`` and ``subflows``."""
    return [n for root in [node, *(subflows or {}).values()] for _nid, n, _p in walk(root) if isinstance(n, kind)]


def _apps(node: Node, subflows: Mapping[str, Node] | None = None) -> list[App]:
    return _nodes_of(App, node, subflows)


def _agent_facts(agent: Any) -> tuple[App, dict[str, ToolDef]]:
    """The ``app`` node of ``agent`` (an ``Agent``, a ``Deployment`` of one, or an ``App``) and the tools that exist."""
    from composable_agents.compiler.deploy import Deployment

    tools: dict[str, ToolDef] = {}
    if isinstance(agent, App):
        return agent, tools
    if isinstance(agent, Deployment):
        apps = _apps(agent.frozen.node, agent.frozen.subflows)
        # Registered tools the flow never froze exist too: a model may name them.
        tools = {**agent.registry.tools, **agent.frozen.tools}
    elif hasattr(agent, "tool_defs") and hasattr(agent, "to_ir"):
        apps = _apps(agent.to_ir())
        tools = {d.key: d for d in agent.tool_defs()}
    else:
        msg = f"actions(agent) takes an Agent, a Deployment of one or an App node, got {agent!r}"
        raise TypeError(msg)
    if not apps:
        msg = f"actions(agent): {agent!r} holds no agent loop (no `app` node)"
        raise TypeError(msg)
    return apps[0], tools


def action_is_valid(app: App, reply: Json) -> bool:
    """Whether ``reply`` is one well-formed action naming only what ``app`` grants."""
    action = parse_action(reply)
    if isinstance(action, ControllerError):
        return False
    if isinstance(action, CallTool):
        return action.tool in app.tools
    if isinstance(action, CallSub):
        return action.flow in app.subflows
    return True


def _tool_input(definition: ToolDef | None) -> st.SearchStrategy[Json]:
    if definition is None or not definition.contract.input_schema:
        return json_values()
    strategy = _from_schema(definition.contract.input_schema)
    # An unsupported schema: any JSON (the tool's input check decides).
    return json_values() if strategy is None else strategy


def actions(agent: Any, *, finish: st.SearchStrategy[Json] | None = None) -> st.SearchStrategy[Json]:
    """Controller replies for ``agent``: granted, ungranted, invented and malformed actions.

    Granted calls carry inputs generated from the tool's input schema;
    ``finish`` values come from ``finish`` (default: any JSON). Finishing is
    the first choice, so shrinking moves toward the shortest run.
    """
    app, existing = _agent_facts(agent)
    return _app_actions(app, existing, finish)


def _app_actions(app: App, existing: Mapping[str, ToolDef], finish: st.SearchStrategy[Json] | None) -> st.SearchStrategy[Json]:
    finish_values = finish if finish is not None else json_values()
    granted_tools = list(app.tools)
    choices: list[st.SearchStrategy[Json]] = [
        finish_values.map(lambda v: {"action": "finish", "value": v}),
    ]
    if granted_tools:
        choices.append(
            st.sampled_from(granted_tools).flatmap(
                lambda k: _tool_input(existing.get(k)).map(lambda x: {"action": "call", "tool": k, "input": x})
            )
        )
    if app.subflows:
        choices.append(
            st.tuples(st.sampled_from(list(app.subflows)), json_values()).map(
                lambda fx: {"action": "sub", "flow": fx[0], "input": fx[1]}
            )
        )
    choices.append(st.text(max_size=30).map(lambda r: {"action": "escalate", "reason": r}))
    ungranted = sorted(set(existing) - set(app.tools))
    invented = _KEYS.map(lambda k: f"invented_{k}")
    names = st.sampled_from(ungranted) | invented if ungranted else invented
    choices.append(st.tuples(names, json_values()).map(lambda nx: {"action": "call", "tool": nx[0], "input": nx[1]}))
    choices.append(_KEYS.map(lambda k: {"action": "sub", "flow": f"invented.{k}", "input": None}))
    choices.append(_malformed_actions(granted_tools))
    return st.one_of(choices)


def _malformed_actions(granted: list[str]) -> st.SearchStrategy[Json]:
    tool = granted[0] if granted else "some_tool"
    fixed: list[Json] = [
        None,
        "finish",
        [],
        [{"action": "finish", "value": 1}, {"action": "finish", "value": 2}],
        {},
        {"action": "FINISH", "value": 1},
        {"action": "run", "tool": tool, "input": None},
        {"action": "finish"},
        {"action": "finish", "value": 1, "why": "extra key"},
        {"action": "call", "tool": tool},
        {"action": "call", "tool": 7, "input": None},
        {"action": "call", "tool": "", "input": None},
        {"action": "escalate", "reason": 3},
        json.dumps({"action": "finish", "value": 1}),
    ]
    return st.sampled_from(fixed) | json_values().filter(lambda v: not isinstance(v, dict))


# -- staged plans -----------------------------------------------------------------------


def _context(deployment: Any, budget_usd: float | None = None) -> PlanContext:
    return deployment if isinstance(deployment, PlanContext) else plan_context(deployment, budget_usd=budget_usd)


def plan_is_valid(context: Any, reply: Json) -> bool:
    """Whether ``check_plan`` admits ``reply`` against ``context`` (a Deployment or ``PlanContext``)."""
    node, diags = check_plan(reply, _context(context))
    return node is not None and not diags


def _prim(key: str) -> Json:
    return {"op": "prim", "step": {"kind": "call", "tool": key}}


def plans(deployment: Any, *, budget_usd: float | None = None) -> st.SearchStrategy[Json]:
    """Planner replies for ``deployment``'s stages, valid and invalid.

    Valid: ``ident``, one call or a ``seq`` of calls to frozen tools that need
    no approval, bare or wrapped as ``{"plan": ...}`` or JSON text. Invalid:
    invented tools, ops a plan may not hold (``each``, ``app``, ``loop``,
    ``eval_plan``), an ungated approval-required tool, garbage.
    """
    ctx = _context(deployment, budget_usd)
    safe = sorted(k for k, d in ctx.tools.items() if not d.contract.approval and not k.startswith("__"))
    gated = sorted(k for k, d in ctx.tools.items() if d.contract.approval)
    nodes: list[st.SearchStrategy[Json]] = [st.just({"op": "ident"})]
    if safe:
        calls = st.sampled_from(safe).map(_prim)
        nodes.append(calls)
        nodes.append(st.lists(calls, min_size=2, max_size=3).map(lambda steps: {"op": "seq", "steps": steps}))
    plan = st.one_of(nodes)
    wrapped = st.one_of(plan, plan.map(lambda p: {"plan": p}), plan.map(json.dumps))
    bad: list[st.SearchStrategy[Json]] = [
        _KEYS.map(lambda k: _prim(f"invented_{k}")),
        st.sampled_from(
            [
                {"op": "each", "body": {"op": "ident"}},
                {"op": "loop", "body": {"op": "ident"}},
                {"op": "eval_plan", "planner": "p"},
                {"op": "app", "controller": "c", "tools": []},
                {"op": "no_such_op"},
                {"op": "seq"},
                _prim("__recv__"),
            ]
        ),
        st.text(max_size=30),
        json_values().filter(lambda v: not isinstance(v, (dict, str))),
    ]
    if gated:
        bad.append(st.sampled_from(gated).map(_prim))
    return st.one_of(wrapped, *bad)


def _stages(node: Node, subflows: Mapping[str, Node] | None = None) -> list[EvalPlan]:
    """Every ``stage`` node in ``node`` and ``subflows``."""
    return _nodes_of(EvalPlan, node, subflows)
