"""The compiler passes: freeze, validate, capabilities, admission, diagnostics, deploy."""
