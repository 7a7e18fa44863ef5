from ts_common import total

words: list[str] = ["1", "2"]
s = total(words)  # E: Argument 1 to "__call__" of "Pure" has incompatible type "list[str]"
