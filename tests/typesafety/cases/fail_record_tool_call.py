from ts_common import file_ticket

ticket = file_ticket("printer on fire", "high")  # E: Argument 2 to "__call__" of "RecordTool" has incompatible type "str"
