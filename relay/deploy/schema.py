"""Check a node configuration against meshtastic's protobufs (``meshtastic --configure``'s schema).

``schema_problems``: every top-level key is one ``meshtastic --configure``
reads, every key below ``config`` and ``module_config`` a field of meshtastic's
protobufs (``Config``, ``ModuleConfig``), every enum value a name the
protobufs know, every value of the field's type.  It imports meshtastic's
protobufs, and only when called: nothing else in relay pays for that import.
``relay.deploy.firmware`` renders the configurations and checks them against the law.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from relay.deploy.policy import RELAY_KEY

# The top-level keys meshtastic's ``_profile_from_yaml`` reads, and the DeviceProfile field each fills.
PROFILE_KEYS: dict[str, str] = {
    "owner": "long_name",
    "owner_short": "short_name",
    "channel_url": "channel_url",
    "canned_messages": "canned_messages",
    "ringtone": "ringtone",
    "location": "fixed_position",
    "config": "config",
    "module_config": "module_config",
}


def _type_problem(fd: Any, value: object) -> str | None:
    """Why ``value`` cannot go into the protobuf field ``fd`` (None if it can)."""
    if fd.type == fd.TYPE_ENUM:
        if not isinstance(value, str) or value not in fd.enum_type.values_by_name:
            return f"{value!r} is not one of {', '.join(sorted(fd.enum_type.values_by_name))}"
        return None
    if fd.type == fd.TYPE_BOOL:
        return None if isinstance(value, bool) else f"{value!r} is not true/false"
    if fd.type in (fd.TYPE_FLOAT, fd.TYPE_DOUBLE):
        return None if isinstance(value, int | float) and not isinstance(value, bool) else f"{value!r} is not a number"
    if fd.type == fd.TYPE_STRING:
        return None if isinstance(value, str) else f"{value!r} is not text"
    if fd.type == fd.TYPE_BYTES:
        ok = isinstance(value, str) and value.startswith("base64:")
        return None if ok else f"{value!r} is not base64:..."
    if not isinstance(value, int) or isinstance(value, bool):
        return f"{value!r} is not a whole number"
    unsigned = (fd.TYPE_UINT32, fd.TYPE_UINT64, fd.TYPE_FIXED32, fd.TYPE_FIXED64)
    if fd.type in unsigned and value < 0:
        return f"{value!r} is negative"
    return None


def _is_repeated(fd: Any) -> bool:
    flag = getattr(fd, "is_repeated", None)
    return bool(flag) if flag is not None else bool(fd.label == fd.LABEL_REPEATED)


def _check_message(path: str, descriptor: Any, values: object, problems: list[str]) -> None:
    if not isinstance(values, Mapping):
        problems.append(f"{path} must be a mapping of settings")
        return
    for name, value in values.items():
        fd = descriptor.fields_by_name.get(name)
        if fd is None:
            problems.append(f"{path}.{name} is not a field of {descriptor.full_name}")
        elif fd.message_type is not None and not _is_repeated(fd):
            _check_message(f"{path}.{name}", fd.message_type, value, problems)
        elif _is_repeated(fd):
            if not isinstance(value, list):
                problems.append(f"{path}.{name} must be a list")
            else:
                problems.extend(f"{path}.{name}: {p}" for v in value if (p := _type_problem(fd, v)))
        elif (problem := _type_problem(fd, value)) is not None:
            problems.append(f"{path}.{name}: {problem}")


def schema_problems(node: Mapping[str, Any]) -> list[str]:
    """Keys and values the meshtastic protobufs do not know (imports meshtastic's protobufs)."""
    from meshtastic.protobuf import clientonly_pb2, config_pb2, module_config_pb2

    problems: list[str] = []
    profile_fields = clientonly_pb2.DeviceProfile.DESCRIPTOR.fields_by_name
    for key in node:
        if key == RELAY_KEY:
            continue  # relay's own section (relay.deploy.policy): meshtastic --configure does not read it
        if key not in PROFILE_KEYS or PROFILE_KEYS[key] not in profile_fields:
            problems.append(f"top-level key {key!r} is not one meshtastic --configure reads")
    for key in ("owner", "owner_short", "channel_url"):
        if key in node and not isinstance(node[key], str):
            problems.append(f"{key} must be text")
    if isinstance(node.get("owner_short"), str) and not 1 <= len(node["owner_short"]) <= 4:
        problems.append("owner_short must be 1-4 characters")
    for top, descriptor in (
        ("config", config_pb2.Config.DESCRIPTOR),
        ("module_config", module_config_pb2.ModuleConfig.DESCRIPTOR),
    ):
        if top not in node:
            continue
        sections = node[top]
        if not isinstance(sections, Mapping):
            problems.append(f"{top} must be a mapping of sections")
            continue
        for section, values in sections.items():
            fd = descriptor.fields_by_name.get(section)
            if fd is None or fd.message_type is None:
                problems.append(f"{top}.{section} is not a section of {descriptor.full_name}")
                continue
            _check_message(f"{top}.{section}", fd.message_type, values, problems)
    return problems
