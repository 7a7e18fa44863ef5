from ts_common import count

n = count(["a"], retry=3)  # E: Unexpected keyword argument "retry"
