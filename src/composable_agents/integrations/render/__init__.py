"""Pictures of flows and runs: a layered DAG in SVG, a flow's steps, a run's HTML trace page.

Everything here is plain Python producing text (SVG, HTML) with no network
and no external binary, so ``ca graph --format svg``, ``ca graph --steps
--format svg`` and ``ca trace RUN_ID --html out.html`` work on any machine.

Rejected alternative: Graphviz/`dot` or a JS charting bundle. Both draw more
beautifully, but one needs a binary the user may lack and the other a
network or a vendored bundle; SPEC §19/§20 ask for neither.
"""

from composable_agents.integrations.render._dag import DagError, render_dag_svg
from composable_agents.integrations.render._flow import FlowRenderError, flow_graph, render_flow_svg
from composable_agents.integrations.render._html import render_trace_html

__all__ = ["DagError", "FlowRenderError", "flow_graph", "render_dag_svg", "render_flow_svg", "render_trace_html"]
