from typing import TypedDict

from composable_agents import pure
from composable_agents.integrations.http import http_tool


class City(TypedDict):
    city: str


@pure("ts_tools.shout")
def shout(value: str) -> str:
    return value.upper()


weather = http_tool("ts_weather_bad", "https://api.example.com/weather", input=City, output=int)
flow = weather >> shout  # E: Unsupported operand types for >>
