from ts_common import count, render

both = count & render  # E: Unsupported operand types for &
