"""The agents layer: the ``Agent`` facade, sessions authoring and plan extraction."""

__all__: list[str] = []
