from composable_agents import tool
from composable_agents.typed import Pipeline


@tool(effect="read")
async def fetch(url: str) -> bytes:
    return url.encode()


@tool(effect="write", idempotent=True)
def charge(cents: int, *, idempotency_key: str) -> str:
    return f"{cents}:{idempotency_key}"


flow: Pipeline[str, bytes] = fetch
pay: Pipeline[int, str] = charge
receipt: str = charge(100, idempotency_key="order-7")
