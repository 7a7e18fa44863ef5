"""A small support desk: the fixture project of the ``ca`` tests."""
