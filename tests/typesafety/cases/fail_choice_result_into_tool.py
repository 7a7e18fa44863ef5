from ts_common import enqueue, page, render

flow = (page | enqueue) >> render  # E: Unsupported operand types for >>
