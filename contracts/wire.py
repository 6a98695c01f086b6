"""The data converter of every Parley client, worker and replayer: Temporal's JSON, with the seed's
field names, and the names release 0.3.0 and earlier used read and written beside them."""

import dataclasses
from collections.abc import Mapping
from typing import Any

from temporalio.converter import (
    AdvancedJSONEncoder,
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    JSONTypeConverter,
    JSONTypeConverterUnhandled,
    value_to_type,
)

from contracts.matchmaker import SeatedEntry, SettleShardInput
from contracts.requests import MatchRequestState, PoolEntry, RequestSpec, RescheduleRequestInput

# Each renamed field: its seed name and the name an earlier release wrote. A history recorded
# before the rename decodes through the old name; and every payload also carries the old name, so
# that a workflow still pinned to release 0.3.0 reads a signal or an update a newer build sends
# it. Drop a class's old names once no build older than the rename runs.
LEGACY_NAMES: Mapping[type, Mapping[str, str]] = {
    RequestSpec: {
        "availability_start": "slot_start",
        "preferred_duration_minutes": "duration_minutes",
    },
    MatchRequestState: {"availability_start": "slot_start"},
    RescheduleRequestInput: {"new_availability_start": "new_slot_start"},
    PoolEntry: {"created_at": "waiting_since", "preferred_duration_minutes": "duration_minutes"},
    SeatedEntry: {"scheduled_start": "slot_start"},
    SettleShardInput: {"scheduled_start": "slot_start"},
}


def _with_legacy_names(value: Any) -> Any:
    """`value` as JSON-ready data, each renamed field also under its old name."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {
            each.name: _with_legacy_names(getattr(value, each.name))
            for each in dataclasses.fields(value)
        }
        for name, old in LEGACY_NAMES.get(type(value), {}).items():
            data[old] = data[name]
        return data
    if isinstance(value, list | tuple):
        return [_with_legacy_names(each) for each in value]
    if isinstance(value, dict):
        return {key: _with_legacy_names(each) for key, each in value.items()}
    return value


class _Encoder(AdvancedJSONEncoder):
    def default(self, o: Any) -> Any:
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return _with_legacy_names(o)
        return super().default(o)


class _LegacyNames(JSONTypeConverter):
    """Reads a renamed class whose payload has only the old name of a field."""

    def to_typed_value(self, hint: type, value: Any) -> Any | None | JSONTypeConverterUnhandled:
        if not isinstance(value, dict):
            return JSONTypeConverter.Unhandled
        names = LEGACY_NAMES.get(hint, {})
        missing = {name: old for name, old in names.items() if name not in value and old in value}
        if not missing:
            return JSONTypeConverter.Unhandled
        renamed = value | {name: value[old] for name, old in missing.items()}
        return value_to_type(hint, renamed, [self])


class ParleyPayloadConverter(CompositePayloadConverter):
    """Temporal's default payload converters, with Parley's JSON in place of the plain one."""

    def __init__(self) -> None:
        json_converter = JSONPlainPayloadConverter(
            encoder=_Encoder, custom_type_converters=[_LegacyNames()]
        )
        super().__init__(
            *(
                json_converter if isinstance(each, JSONPlainPayloadConverter) else each
                for each in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


DATA_CONVERTER = dataclasses.replace(
    DataConverter.default, payload_converter_class=ParleyPayloadConverter
)
