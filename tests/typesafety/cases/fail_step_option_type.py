from ts_common import count

n = count(["a"], retries="3")  # E: Argument "retries" to "__call__" of "Tool"
