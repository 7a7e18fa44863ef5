"""A Temporal data converter that keeps JSON object keys in insertion order.

temporalio's default JSON payload converter sorts object keys. Our values are
JSON whose dicts keep insertion order at run time (SPEC §2: ``std.merge`` is
``{**left, **right}``; sorted keys are only for hashing), so a value must not
come back from an activity or a workflow reordered. :func:`with_ordered_json`
re-wraps a client (sharing its connection) with a converter identical to the
default one except that JSON is written unsorted; reading is unchanged, so
payloads stay compatible with every other Temporal SDK and older histories.

A client with a custom payload converter is left alone: its owner chose it.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import temporalio.api.common.v1
from temporalio.client import Client
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)

__all__ = ["OrderedJSONPayloadConverter", "OrderedPayloadConverter", "ordered_data_converter", "with_ordered_json"]


class OrderedJSONPayloadConverter(JSONPlainPayloadConverter):
    """``json/plain`` payloads written with keys in insertion order (compact separators)."""

    def to_payload(self, value: Any) -> temporalio.api.common.v1.Payload | None:
        """Encode ``value`` as compact JSON without sorting keys."""
        encoder = getattr(self, "_encoder", None)
        return temporalio.api.common.v1.Payload(
            metadata={"encoding": self.encoding.encode()},
            data=json.dumps(value, cls=encoder, separators=(",", ":")).encode(),
        )


class OrderedPayloadConverter(CompositePayloadConverter):
    """The default composite payload converter with :class:`OrderedJSONPayloadConverter` for JSON."""

    def __init__(self) -> None:
        super().__init__(
            *(
                OrderedJSONPayloadConverter() if type(c) is JSONPlainPayloadConverter else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


def ordered_data_converter(base: DataConverter | None = None) -> DataConverter:
    """``base`` (default: temporalio's default) with unsorted JSON, unless its payload converter is custom."""
    base = base or DataConverter.default
    if base.payload_converter_class is not DefaultPayloadConverter:
        return base
    return dataclasses.replace(base, payload_converter_class=OrderedPayloadConverter)


def with_ordered_json(client: Client) -> Client:
    """``client`` re-wrapped (same connection, namespace, interceptors, plugins) with unsorted JSON payloads."""
    converter = ordered_data_converter(client.data_converter)
    if converter is client.data_converter:
        return client
    config = client.config()
    config["data_converter"] = converter
    return Client(**config)
