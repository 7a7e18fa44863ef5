from ts_common import lookup, render

flow = lookup >> render  # E: Unsupported operand types for >>
