from ts_common import count

n = count(3)  # E: Argument 1 to "__call__" of "Tool" has incompatible type "int"
