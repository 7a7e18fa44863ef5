from typing import TypedDict

from composable_agents import pure, snapshot_from_listings
from composable_agents.authoring.arrow import Pipeline
from composable_agents.integrations.http import http_tool
from composable_agents.integrations.mcp import mcp_tool


class City(TypedDict):
    city: str


class Forecast(TypedDict):
    city: str
    temp: int


@pure("ts_tools.temp")
def temp(value: Forecast) -> int:
    return value["temp"]


weather = http_tool("ts_weather", "https://api.example.com/weather", input=City, output=Forecast)
by_http: Pipeline[City, int] = weather >> temp

snapshot = snapshot_from_listings({"ts_srv": {"forecast": {"inputSchema": {"type": "object"}}}})
forecast = mcp_tool(snapshot, "ts_srv/forecast", input=City, output=Forecast)
by_mcp: Pipeline[City, int] = forecast >> temp
