from ts_common import count, shout

flow = count >> shout  # E: Unsupported operand types for >>
