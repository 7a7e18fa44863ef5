"""The one secret detector (SPEC §22.5): ``looks_secret`` for checks, ``redact`` for exports.

Every layer that keeps credentials out of artifacts, histories and
projections asks this module: deploy's ``SECRET_ARG`` pass (static args, gate
prompts, reasoner definitions, manifests), ``@flow`` constants and captures,
and stored or exported projections (the trace store and OTel exporter call
:func:`redact` too), so a rule added here holds on every surface. It lives in
the core because authoring, the compiler and execution all use it.

A string is secret-shaped when a credential appears *anywhere* in it: a known
key prefix (``sk-``, ``ghp_``, ``AKIA`` ...), a bearer/basic credential, a JWT,
credentials inside a URL (``user:pass@host``, ``?api_key=...``), an assignment
to a credential-named word in a sentence (``password=...``, ``the password is
...``), a PEM private key, or a long high-entropy token; or when it is the
value of a credential-named key in any case style (``api_key``, ``dbPassword``,
``X-Api-Key``, ``Authorization``). References such as ``env://NAME`` or
``secret://path`` are never secrets: they name where a worker reads the value
at call time.

Rejected alternative: exact key names plus a prefix match at the start of the
value (the first detector). It missed a key in a URL, in a sentence or behind
``Bearer``, and camelCase names — how credentials actually appear in prompts
and headers.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any, Final

__all__ = [
    "REDACTED", "Redactor", "find_secret", "looks_secret", "redact", "redact_text", "secret_key_name"]

REDACTED: Final = "[REDACTED]"
"""What :func:`redact` puts where a credential was."""

_WORDS: Final = frozenset(
    {
        "password", "passwd", "pwd", "passphrase", "secret", "token", "apikey", "credential",
        "credentials", "bearer", "authorization", "auth", "cookie", "privatekey", "secretkey",
        "accesskey", "clientsecret", "accesstoken", "refreshtoken", "authtoken", "sessiontoken",
        "idtoken", "sessionkey", "signingkey", "webhooksecret",
    }
)
"""Credential words a key may end with (after case folding; the last two parts are also joined)."""

_KEY_PAIRS: Final = frozenset({("api", "key"), ("private", "key"), ("secret", "key"), ("access", "key")})

_REFERENCE: Final = re.compile(
    r"^(?:(?:env|secret|secrets|vault|ref|keyring|ssm|op|aws-sm|gcp-sm)://\S+"
    r"|\$\{[A-Za-z_][A-Za-z0-9_]*\}|(?:env|secret|ref):[A-Za-z_][A-Za-z0-9_./-]*)$"
)

# Each credential form that can sit inside free text has its own pattern and a cheap
# substring gate (most strings skip every regex); named group "v" is the credential.
_CRED_WORD: Final = (
    r"(?:api[_\- ]?key|apikey|access[_\- ]?key|secret[_\- ]?key|private[_\- ]?key|client[_\- ]?secret|"
    r"(?:access|refresh|auth|session|id|api)[_\- ]?token|token|password|passwd|pwd|passphrase|secret)"
)
_CRED_HINTS: Final = ("key", "secret", "token", "pass", "pwd")
_PATTERNS: Final = (
    # provider keys and JWTs (case-sensitive prefixes)
    (
        ("sk-", "sk_", "rk_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat", "xox", "AKIA", "ASIA", "AIza",
         "glpat", "npm_", "eyJ"),
        True,
        re.compile(
            r"(?<![A-Za-z0-9])(?P<v>sk-[A-Za-z0-9_\-]{8,}|sk_(?:live|test)_[A-Za-z0-9]{8,}|rk_(?:live|test)_[A-Za-z0-9]{8,}"
            r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abposr]-[A-Za-z0-9\-]{10,}"
            r"|(?:AKIA|ASIA)[0-9A-Z]{16}|AIza[0-9A-Za-z_\-]{30,}|glpat-[A-Za-z0-9_\-]{16,}|npm_[A-Za-z0-9]{30,}"
            r"|eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*)"
        ),
    ),
    (("PRIVATE KEY",), True, re.compile(r"(?P<v>-----BEGIN [A-Z ]*PRIVATE KEY-----)")),
    (("bearer", "basic", "token"), False, re.compile(r"(?i)\b(?:bearer|basic|token)\s+(?P<v>[A-Za-z0-9\-._~+/]{12,}=*)")),
    (("://",), True, re.compile(r"://[^/\s:@?#]+:(?P<v>[^/\s@?#]{3,})@")),
    (
        ("=",),
        True,
        re.compile(r"(?i)[?&;#](?:" + _CRED_WORD + r"|key|sig|signature|auth)=(?P<v>[^&\s#\"']{4,})"),
    ),
    (
        _CRED_HINTS,
        False,
        re.compile(r"(?i)" + _CRED_WORD + r"\s*[\"']?\s*[:=]\s*[\"']?(?P<v>[^\s\"',;<>`)]{4,})"),
    ),
    (
        _CRED_HINTS,
        False,
        re.compile(r"(?i)\b" + _CRED_WORD + r"\s+(?:is|was|=)\s+[\"']?(?P<v>[^\s\"',;<>`)]{6,})"),
    ),
)
"""``(gates, case_sensitive_gates, pattern)``: a pattern runs only when one gate occurs in the text."""
_ANY_GATE: Final = re.compile("|".join(re.escape(g) for gates, exact, _p in _PATTERNS if exact for g in gates))
_WORD_GATES: Final = tuple(dict.fromkeys(g for gates, exact, _p in _PATTERNS if not exact for g in gates))
"""A string with none of these (lower-cased) and no :data:`_ANY_GATE` match holds no in-text credential form.

(``in`` on the lower-cased text: an ``(?i)`` alternation costs ten times as much.)
"""
_LOOSE: Final = (2, 4, 5, 6)
"""Indexes of the patterns whose captured value may be prose (``password: required``), not a credential."""
_TOKEN: Final = re.compile(r"[A-Za-z0-9+=_\-.]{32,}")
_PLACEHOLDER: Final = frozenset({"none", "null", "true", "false", "redacted", "required", "optional", "string"})
_MAX_DEPTH: Final = 400


def _entropy(text: str) -> float:
    counts: dict[str, int] = {}
    for ch in text:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _random_token(token: str) -> bool:
    """A long token of letters and digits with the entropy of a generated key (not a word or a hash)."""
    if token.startswith("sha256") or not any(c.isdigit() for c in token) or not any(c.isalpha() for c in token):
        return False
    return _entropy(token) >= 4.2


def _credential_value(loose: bool, value: str) -> bool:
    """Whether the text captured after a credential word holds a value rather than prose."""
    if _REFERENCE.match(value) or value.lower() in _PLACEHOLDER or value.startswith(("<", "{", "$")):
        return False
    if not loose:
        return True
    # An assignment or "the password is X": a word alone (``password: required``) is prose;
    # a value with a digit, a symbol or mixed case is a credential.
    return any(not c.isalpha() for c in value) or (value != value.lower() and value != value.upper())


def find_secret(text: str) -> tuple[int, int] | None:
    """The ``(start, end)`` span of the first credential inside ``text``, else ``None``."""
    if len(text) < 8 or _REFERENCE.match(text):
        return None
    best: tuple[int, int] | None = None
    low = text.lower()
    if _ANY_GATE.search(text) is None and not any(word in low for word in _WORD_GATES):
        patterns: tuple[Any, ...] = ()
    else:
        patterns = _PATTERNS
    for index, (gates, exact, pattern) in enumerate(patterns):
        haystack = text if exact else low
        for gate in gates:
            if gate in haystack:
                break
        else:
            continue
        loose = index in _LOOSE
        for m in pattern.finditer(text):
            span = m.span("v")
            if best is not None and span[0] >= best[0]:
                break
            if _credential_value(loose, m.group("v")):
                best = span
                break
    if best is not None:
        return best
    if len(text) >= 32:
        for m in _TOKEN.finditer(text):
            if _random_token(m.group()):
                return m.span()
    return None


@lru_cache(maxsize=4096)
def secret_key_name(key: str) -> bool:
    """True when ``key`` names a credential in any case style (``api_key``, ``dbPassword``, ``X-Api-Key``)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", spaced)
    parts = [p for p in re.split(r"[^a-z0-9]+", spaced.lower()) if p]
    if not parts:
        return False
    last = parts[-1]
    if last in _WORDS:
        return True
    return len(parts) >= 2 and ((parts[-2], last) in _KEY_PAIRS or parts[-2] + last in _WORDS)


def looks_secret(key: str | None, value: Any) -> bool:
    """True for a secret-shaped string: a credential anywhere in it, or any value of a credential-named key."""
    if type(value) is not str or len(value) < 4:
        return False
    if _REFERENCE.match(value):
        return False
    if key is not None and secret_key_name(key) and value.lower() not in _PLACEHOLDER:
        return True
    return find_secret(value) is not None


def redact_text(text: str) -> str:
    """``text`` with every credential span replaced by :data:`REDACTED` (unchanged when it holds none)."""
    out = text
    start = 0
    for _ in range(64):  # a pathological string cannot keep the loop going: what is left goes whole
        span = find_secret(out[start:])
        if span is None:
            return out
        a, b = span[0] + start, span[1] + start
        out = out[:a] + REDACTED + out[b:]
        start = a + len(REDACTED)
    return REDACTED


def redact(value: Any, key: str | None = None, *, memo: Redactor | None = None) -> Any:
    """A copy of the JSON ``value`` with secret-shaped strings redacted (the same object when none are).

    Strings under a credential-named key become :data:`REDACTED` whole; other
    strings keep their text around each redacted credential. Non-JSON leaves
    are returned as they are; a subtree nested past the canonical depth is
    replaced whole. ``memo`` (a :class:`Redactor`) remembers each string's
    verdict, for callers that redact many runs sharing the same texts. Never
    raises.
    """
    try:
        return _redact(value, key, 0, memo)
    except RecursionError:  # deeper than any checked JSON value; an export must not fail
        return REDACTED


_MEMO_LIMIT: Final = 100_000
"""Verdicts a :class:`Redactor` keeps per table before it starts over."""


class Redactor:
    """Memory for :func:`redact`: each distinct string (and key name) is judged once.

    The judgement is the shared detector's; a store ingesting thousands of
    runs sees the same labels, statuses and notes over and over, and the
    detector's regexes would dominate otherwise.
    """

    __slots__ = ("keys", "plain", "under_key")

    def __init__(self) -> None:
        self.keys: dict[str, bool] = {}
        self.plain: dict[str, str] = {}
        self.under_key: dict[str, str] = {}

    def text(self, value: str, key: str | None) -> str:
        """``value`` (found under ``key``) as :func:`redact` returns it, remembered."""
        if len(value) < 4:
            return value
        secret_key = False
        if key is not None:
            found = self.keys.get(key)
            if found is None:
                if len(self.keys) > _MEMO_LIMIT:
                    self.keys.clear()
                found = self.keys[key] = secret_key_name(key)
            secret_key = found
        table = self.under_key if secret_key else self.plain
        out = table.get(value)
        if out is None:
            if len(table) > _MEMO_LIMIT:
                table.clear()
            out = _judge(value, key if secret_key else None)
            table[value] = out
        return out


def _judge(value: str, key: str | None) -> str:
    if not looks_secret(key, value):
        return value
    if key is not None and secret_key_name(key):
        return REDACTED
    return redact_text(value)


def _redact(value: Any, key: str | None, depth: int, memo: Redactor | None) -> Any:
    kind = type(value)
    if kind is str:
        return memo.text(value, key) if memo is not None else _judge(value, key)
    if kind is dict:
        if depth > _MAX_DEPTH:
            return REDACTED
        out: dict[Any, Any] | None = None
        for k, v in value.items():
            nv = _redact(v, k if type(k) is str else None, depth + 1, memo)
            if nv is not v:
                if out is None:
                    out = dict(value)
                out[k] = nv
        return out if out is not None else value
    if kind is list or kind is tuple:
        if depth > _MAX_DEPTH:
            return REDACTED
        items: list[Any] | None = None
        for i, v in enumerate(value):
            nv = _redact(v, key, depth + 1, memo)
            if nv is not v:
                if items is None:
                    items = list(value)
                items[i] = nv
        return items if items is not None else value
    return value
