"""Optional integrations: model providers, MCP, HTTP tools, OpenTelemetry, the trace store.

Each subpackage imports its extra lazily and names the extra in its ImportError.
"""

__all__: list[str] = []
