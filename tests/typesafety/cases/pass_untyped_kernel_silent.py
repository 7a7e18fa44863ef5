from composable_agents import call, mcp, seq, think

summary = seq(call(mcp("search", "web")), think("summarize"))
chained = call(mcp("search", "web")) >> think("summarize")
