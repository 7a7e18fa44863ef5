"""The one secret detector: credential-shaped strings in static args, captures and manifests.

Deploy (``SECRET_ARG``), ``@flow`` constants and stored or exported
projections all ask :func:`looks_secret`, so a rule added here holds on every
surface. ``env://``/``secret://`` references are never secrets: they name
where a worker reads the value at call time. It lives in the core because
both the authoring layer and the compiler use it.
"""

from __future__ import annotations

import math
import re
from typing import Final

from composable_agents.core.canonical import Json

__all__ = ["looks_secret"]

_SECRET_KEY: Final = re.compile(
    r"(^|[_\-.])(api[_\-]?key|apikey|access[_\-]?key|secret[_\-]?key|private[_\-]?key|client[_\-]?secret|"
    r"token|access[_\-]?token|refresh[_\-]?token|auth[_\-]?token|bearer|password|passwd|pwd|secret|"
    r"credentials?)$",
    re.IGNORECASE,
)
_SECRET_PREFIX: Final = re.compile(
    r"^(sk-[A-Za-z0-9_\-]{8,}|sk_(live|test)_[A-Za-z0-9]{8,}|ghp_[A-Za-z0-9]{20,}|gho_[A-Za-z0-9]{20,}|"
    r"ghs_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abposr]-[A-Za-z0-9\-]{10,}|AKIA[0-9A-Z]{16}|"
    r"AIza[0-9A-Za-z_\-]{30,}|glpat-[A-Za-z0-9_\-]{16,}|-----BEGIN [A-Z ]*PRIVATE KEY-----)"
)
_REFERENCE: Final = re.compile(r"^(env|secret|vault|ref|keyring|ssm|op)://?|^\$\{[A-Za-z_][A-Za-z0-9_]*\}$|^(env|secret|ref):")
_TOKENISH: Final = re.compile(r"^[A-Za-z0-9+/=_\-.]{32,}$")


def _entropy(text: str) -> float:
    counts: dict[str, int] = {}
    for ch in text:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def looks_secret(key: str | None, value: Json) -> bool:
    """True for a secret-shaped static argument (by key name or by value)."""
    if not isinstance(value, str) or len(value) < 4:
        return False
    if _REFERENCE.match(value):
        return False
    if key is not None and _SECRET_KEY.search(key) and len(value) >= 4:
        return True
    if _SECRET_PREFIX.match(value):
        return True
    if value.startswith("sha256:") or not _TOKENISH.match(value):
        return False
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    return has_digit and has_alpha and _entropy(value) >= 4.2
