"""The frozen artifact on the wire, and its prepared form on a worker.

A :class:`~composable_agents.compiler.deploy.Deployment` travels to a
workflow as its artifact JSON (format, flow, manifest, policy, capabilities)
— inline, zlib-compressed and base64-encoded when large — or, when the
worker hosts the deployment, as its ``artifact_hash`` alone. Workers turn an
artifact into a :class:`LoadedArtifact` (a prepared
:class:`~composable_agents.execution.interpreter.Program` plus the pins and
refs activities check) **once per hash**: this module is passed through the
workflow sandbox, so its cache outlives single workflow tasks.

This module imports nothing from temporalio.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from composable_agents.core.canonical import (
    Json,
    JsonObject,
    canonical_bytes,
    canonical_dumps,
    content_hash,
)
from composable_agents.core.ir import IR_FORMAT_VERSION, Node
from composable_agents.core.kinds import Effect, Idempotency
from composable_agents.core.policy import ExecutionPolicy
from composable_agents.core.pures import Registry
from composable_agents.errors import ComposableAgentsError, PureDriftError
from composable_agents.execution.interpreter import Catalog, Program

if TYPE_CHECKING:
    from composable_agents.authoring.leaves import Reasoner, ToolDef
    from composable_agents.compiler.deploy import Deployment

__all__ = [
    "COMPRESS_ABOVE_BYTES",
    "MAX_INLINE_ARTIFACT_BYTES",
    "ArtifactNotHosted",
    "ArtifactTooLarge",
    "LoadedArtifact",
    "artifact_json",
    "check_pure_pins",
    "decode_artifact",
    "encode_artifact",
    "find_loaded",
    "find_reasoner",
    "find_tool_definition",
    "load_artifact",
    "pack_document",
    "policy_from_json",
    "pure_hashes",
]

MAX_INLINE_ARTIFACT_BYTES: Final = 1_500_000
"""Largest (compressed) artifact a workflow input may carry; above it, only hosting workers run it."""

COMPRESS_ABOVE_BYTES: Final = 512
"""Artifacts whose JSON is larger than this ride zlib-compressed (base64) when that is smaller."""


class ArtifactTooLarge(ComposableAgentsError, ValueError):
    """The compressed artifact exceeds the inline limit and no hosting worker was named."""

    non_retryable = True


class ArtifactNotHosted(ComposableAgentsError, LookupError):
    """A workflow got only an artifact hash that this worker does not host."""

    non_retryable = True


def artifact_json(deployment: Deployment[Any, Any]) -> JsonObject:
    """The self-contained artifact document of ``deployment`` (what its hash covers)."""
    return {
        "format": IR_FORMAT_VERSION,
        "flow": deployment.flow_json,
        "manifest": deployment.manifest_json,
        "policy": deployment.policy.to_json(),
        "capabilities": deployment.capabilities_json,
    }


_ENCODED: dict[tuple[str, bool], tuple[JsonObject, int]] = {}


def encode_artifact(
    deployment: Deployment[Any, Any],
    *,
    hosted: bool = False,
    max_inline_bytes: int = MAX_INLINE_ARTIFACT_BYTES,
) -> JsonObject:
    """The artifact part of a workflow input: ``{"a": doc}`` or ``{"z": zlib+base64}``, or ``{"h": hash}`` when hosted.

    Inline artifacts carry no hash: the worker derives it from the content.

    ``hosted=True`` sends the hash only (the worker must host the deployment).
    Raises :class:`ArtifactTooLarge` when the compressed artifact exceeds
    ``max_inline_bytes`` and ``hosted`` is false.
    """
    digest = deployment.artifact_hash
    if hosted:
        return {"h": digest}
    cached = _ENCODED.get((digest, True))
    if cached is None:
        doc = artifact_json(deployment)
        part = pack_document(doc)
        size = len(part["z"]) if "z" in part else len(canonical_bytes(doc))
        if len(_ENCODED) > 256:
            _ENCODED.clear()
        cached = _ENCODED[(digest, True)] = (part, size)
    part, size = cached
    if size > max_inline_bytes:
        msg = (
            f"the artifact of {deployment!r} is {size:,} bytes compressed, over the "
            f"{max_inline_bytes:,}-byte inline limit (the server's payload limit); run it on a worker "
            "that hosts the deployment (run_worker(deployments=[...])) and pass hosted=True"
        )
        raise ArtifactTooLarge(msg)
    return part


def pack_document(doc: JsonObject) -> JsonObject:
    """``{"z": zlib+base64}`` when that is smaller than the JSON, else ``{"a": doc}``."""
    raw = canonical_bytes(doc)
    if len(raw) > COMPRESS_ABOVE_BYTES:
        packed = base64.b64encode(zlib.compress(raw, 9)).decode("ascii")
        if len(packed) < len(raw):
            return {"z": packed}
    return {"a": doc}


def decode_artifact(part: Mapping[str, Json]) -> JsonObject | None:
    """The artifact document carried by an input part (``None`` when only the hash rides)."""
    if "a" in part:
        inline: JsonObject = part["a"]
        return inline
    if "z" in part:
        import json

        raw = zlib.decompress(base64.b64decode(part["z"]))
        doc: JsonObject = json.loads(raw)
        return doc
    return None


def policy_from_json(doc: Mapping[str, Json] | None) -> ExecutionPolicy:
    """The :class:`ExecutionPolicy` of an artifact's ``policy`` record."""
    if not doc:
        return ExecutionPolicy()
    kwargs: dict[str, Any] = {}
    for wire, name in (
        ("taskQueue", "task_queue"),
        ("startToCloseS", "start_to_close_s"),
        ("readMaxAttempts", "read_max_attempts"),
        ("initialIntervalS", "initial_interval_s"),
        ("backoffCoefficient", "backoff_coefficient"),
        ("maxParallel", "max_parallel"),
        ("maxSegments", "max_segments"),
        ("checkTypes", "check_types"),
    ):
        if wire in doc:
            kwargs[name] = doc[wire]
    return ExecutionPolicy(**kwargs)


def _tool_from_json(doc: Mapping[str, Any]) -> ToolDef:
    from composable_agents.authoring.leaves import ToolContract, ToolDef

    c = doc.get("contract", {})
    contract = ToolContract(
        effect=Effect(c.get("effect", "write")),
        idempotency=Idempotency(c.get("idempotency", "none")),
        input_schema=dict(c.get("inputSchema") or {}),
        output_schema=dict(c.get("outputSchema") or {}),
        approval=c.get("approval") == "required",
    )
    return ToolDef(
        key=doc["key"],
        contract=contract,
        fn=None,
        kind=doc.get("kind", "native"),
        body_hash=doc.get("body"),
        server=doc.get("server"),
        server_version=doc.get("serverVersion"),
    )


def _reasoner_from_json(doc: Mapping[str, Any], registry: Registry) -> Reasoner[Any, Any]:
    """The registered reasoner when its definition matches, else one rebuilt from the JSON."""
    from composable_agents.authoring.leaves import Reasoner

    want = content_hash(dict(doc))
    found = registry.reasoners.get(doc["name"])
    if found is not None and found.definition_hash() == want:
        return found
    return Reasoner(
        name=doc["name"],
        model=doc.get("model", ""),
        system=doc.get("system", ""),
        tools=tuple(doc.get("tools", ())),
        temperature=doc.get("temperature"),
        max_tokens=doc.get("maxTokens"),
        output_retries=int(doc.get("outputRetries", 1)),
    )


def pure_hashes(registry: Registry) -> dict[str, str]:
    """Source hashes of every pure ``registry`` reaches (its own and the std family)."""
    from composable_agents.core.std import STD_PURES

    out = {name: p.source_hash for name, p in STD_PURES.items()}
    out.update({name: p.source_hash for name, p in registry.pures.items()})
    return out


def check_pure_pins(pins: Mapping[str, str], hashes: Mapping[str, str], registry: Registry | None = None) -> None:
    """Raise :class:`PureDriftError` naming every pinned pure whose hash differs here (or is missing)."""
    problems: list[str] = []
    for name, pinned in sorted(pins.items()):
        have = hashes.get(name)
        if have is None and registry is not None and registry.has_pure(name):
            have = registry.pure(name).source_hash
        if have is None:
            problems.append(f"{name!r} is not registered on this worker (pinned {pinned[:19]}...)")
        elif have != pinned:
            problems.append(f"{name!r} has source {have[:19]}... here but {pinned[:19]}... was pinned at deploy")
    if problems:
        msg = (
            "pure drift: " + "; ".join(problems)
            + ". Deploy the same pure code to the worker, or redeploy the flow against the current code."
        )
        raise PureDriftError(msg)


@dataclass(slots=True, eq=False)
class LoadedArtifact:
    """An artifact prepared on a worker: program, pins, and the refs activities check."""

    hash: str
    program: Program
    policy: ExecutionPolicy
    pins: Mapping[str, str]
    tool_hashes: Mapping[str, str]
    reasoners: Mapping[str, Reasoner[Any, Any]]
    reasoner_hashes: Mapping[str, str]
    doc: JsonObject | None
    registry: Registry
    capabilities: JsonObject | None = None
    deployment: Deployment[Any, Any] | None = None
    children: dict[str, tuple[JsonObject, bool]] = field(default_factory=dict)

    def child_part(self, ref: str) -> tuple[JsonObject, bool]:
        """The artifact part (:func:`pack_document`) of the named sub-flow ``ref``'s input, sharing
        this manifest, and whether its root is an ``app``; packed once per sub-flow, not per call."""
        found = self.children.get(ref)
        if found is None:
            doc = self.doc if self.doc is not None else (
                artifact_json(self.deployment) if self.deployment is not None else None
            )
            if doc is None:  # pragma: no cover - every artifact has one of the two
                msg = f"no artifact document to derive sub-flow {ref!r} from"
                raise ArtifactNotHosted(msg)
            manifest = doc["manifest"]
            flow = manifest["subflows"][ref]
            child: JsonObject = {
                "format": doc["format"],
                "flow": flow,
                "manifest": manifest,
                "policy": doc["policy"],
                "capabilities": doc["capabilities"],
            }
            agent = isinstance(flow, Mapping) and flow.get("op") == "app"
            found = self.children[ref] = (pack_document(child), agent)
        return found


_LOADED: dict[tuple[str, str, int], LoadedArtifact] = {}
_BY_HASH: dict[str, LoadedArtifact] = {}
_REASONERS: dict[str, Any] = {}
_TOOL_DEFS: dict[str, Any] = {}
_MAX_LOADED: Final = 512


def _from_deployment(deployment: Deployment[Any, Any]) -> LoadedArtifact:
    manifest = deployment.manifest_json
    return LoadedArtifact(
        hash=deployment.artifact_hash,
        program=deployment.program,
        policy=deployment.policy,
        pins=dict(manifest.get("pures", {})),
        tool_hashes={k: v["definitionHash"] for k, v in manifest.get("tools", {}).items()},
        reasoners=dict(deployment.frozen.reasoners),
        reasoner_hashes={n: r.definition_hash() for n, r in deployment.frozen.reasoners.items()},
        doc=None,
        registry=deployment.registry,
        capabilities=deployment.capabilities_json,
        deployment=deployment,
    )


def _from_doc(doc: JsonObject, digest: str, registry: Registry) -> LoadedArtifact:
    manifest: Mapping[str, Any] = doc.get("manifest") or {}
    tools_doc: Mapping[str, Any] = manifest.get("tools", {})
    tools = {key: _tool_from_json(entry["definition"]) for key, entry in tools_doc.items()}
    reasoners = {name: _reasoner_from_json(d, registry) for name, d in manifest.get("reasoners", {}).items()}
    subflows = {ref: Node.from_json(flow) for ref, flow in manifest.get("subflows", {}).items()}
    catalog = Catalog(
        registry=registry,
        tools=tools,
        reasoners=reasoners,
        subflows=subflows,
        execution_hashes={key: entry["executionHash"] for key, entry in tools_doc.items()},
    )
    program = Program(Node.from_json(doc["flow"]), catalog)
    return LoadedArtifact(
        hash=digest,
        program=program,
        policy=policy_from_json(doc.get("policy")),
        pins=dict(manifest.get("pures", {})),
        tool_hashes={key: entry["definitionHash"] for key, entry in tools_doc.items()},
        reasoners=reasoners,
        reasoner_hashes={n: content_hash(d) for n, d in manifest.get("reasoners", {}).items()},
        doc=doc,
        registry=registry,
        capabilities=doc.get("capabilities"),
    )


def load_artifact(
    part: Mapping[str, Json],
    *,
    registry: Registry,
    hosted: Mapping[str, Deployment[Any, Any]] | None = None,
    hashes_for: Any = None,
) -> LoadedArtifact:
    """Prepare (or fetch from the per-process cache) the artifact an input part names.

    A hosted deployment with the same hash is used as is; otherwise the
    carried document is decoded, its hash verified, and compiled against
    ``registry``. Raises :class:`ArtifactNotHosted` when only a hash rides and
    this worker does not host it. ``hashes_for(registry)`` gives the pure
    source hashes recorded at worker start-up: pins are checked against them
    **before** anything is compiled (:class:`PureDriftError` on a mismatch).
    """
    digest = str(part.get("h", ""))
    if "z" in part:
        key: tuple[str, str, int] = ("z", str(part["z"]), id(registry))
    elif "a" in part:
        key = ("a", canonical_dumps(part["a"]), id(registry))
    else:
        # Never serve a hash-only run from the cache of inline runs: a worker that does not
        # host the deployment must fail it the same way before and after a restart.
        deployment = hosted.get(digest) if hosted else None
        if deployment is None:
            msg = (
                f"artifact {digest[:23]}... was sent by hash only, but this worker does not host it: "
                "start the worker with run_worker(deployments=[deployment]) or run without hosted=True"
            )
            raise ArtifactNotHosted(msg)
        key = ("h", digest, id(deployment.registry))
    found = _LOADED.get(key)
    if found is not None:
        return found
    doc = decode_artifact(part)
    actual = digest
    if doc is not None:
        actual = content_hash(doc)
        if digest and actual != digest:
            msg = f"artifact hash mismatch: input says {digest[:23]}..., content hashes to {actual[:23]}..."
            raise ArtifactNotHosted(msg)
    deployment = hosted.get(actual) if hosted else None
    if deployment is not None:
        if hashes_for is not None:
            check_pure_pins(deployment.manifest_json.get("pures", {}), hashes_for(deployment.registry),
                            deployment.registry)
        loaded = _from_deployment(deployment)
    else:
        assert doc is not None
        if hashes_for is not None:
            pins = (doc.get("manifest") or {}).get("pures", {})
            check_pure_pins(pins, hashes_for(registry), registry)
        loaded = _from_doc(doc, actual, registry)
    if len(_LOADED) >= _MAX_LOADED:
        _LOADED.clear()
        _BY_HASH.clear()
        _REASONERS.clear()
        _TOOL_DEFS.clear()
    _LOADED[key] = loaded
    _BY_HASH[loaded.hash] = loaded
    for name, digest_r in loaded.reasoner_hashes.items():
        _REASONERS[digest_r] = loaded.reasoners[name]
    manifest = loaded.doc.get("manifest") if loaded.doc is not None else (
        loaded.deployment.manifest_json if loaded.deployment is not None else None
    )
    if isinstance(manifest, Mapping):
        # frozen tool definitions by hash: an MCP caller compares a server's live listing with them
        for entry in (manifest.get("tools") or {}).values():
            if isinstance(entry, Mapping) and isinstance(entry.get("definitionHash"), str):
                _TOOL_DEFS[entry["definitionHash"]] = entry.get("definition")
    return loaded


def find_loaded(digest: str) -> LoadedArtifact | None:
    """A prepared artifact with this hash, if this process has one."""
    return _BY_HASH.get(digest)


def find_reasoner(definition_hash: str) -> Reasoner[Any, Any] | None:
    """A reasoner definition with this hash from an artifact this process prepared."""
    return _REASONERS.get(definition_hash)


def find_tool_definition(definition_hash: str) -> JsonObject | None:
    """The frozen definition JSON of a tool with this hash, from an artifact this process prepared."""
    found = _TOOL_DEFS.get(definition_hash)
    return found if isinstance(found, dict) else None
