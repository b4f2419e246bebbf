#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check Home Assistant discovery configs of MQTT lights (JSON schema).

Reads "topic payload" lines (mosquitto_sub -v) on stdin and checks each
config against what Home Assistant's MQTT light, JSON schema, and its
discovery need: the keys it requires, their types, and the board's
topics. Arguments: PREFIX BOARD DISCOVERY_PREFIX EFFECT,... OFFSET,...
Prints one line per problem and exits 1 if there was any.
"""
import json
import re
import sys

prefix, board, dprefix, effects, offsets = sys.argv[1:6]
effects = [e for e in effects.split(",") if e]
lights = offsets.split(",") + ["matrix"]
problems = []
seen = {}

for line in sys.stdin:
    topic, _, payload = line.rstrip("\n").partition(" ")
    seen[topic] = payload

object_id = re.compile(r"^[a-zA-Z0-9_-]+$")
unique_ids = set()
for light in lights:
    topic = f"{dprefix}/light/{board}_{light}/config"
    if topic not in seen:
        problems.append(f"{topic}: missing")
        continue
    parts = topic.split("/")
    if len(parts) != 4 or not object_id.match(parts[2]):
        problems.append(f"{topic}: not <prefix>/light/<object_id>/config")
    try:
        c = json.loads(seen[topic])
    except ValueError as e:
        problems.append(f"{topic}: not JSON: {e}")
        continue

    def want(key, kind, value=None):
        if key not in c:
            problems.append(f"{topic}: {key} is missing")
        elif not isinstance(c[key], kind):
            problems.append(f"{topic}: {key} is {type(c[key]).__name__}, not {kind.__name__}")
        elif value is not None and c[key] != value:
            problems.append(f"{topic}: {key} is {c[key]!r}, expected {value!r}")

    want("name", str)
    want("unique_id", str)
    want("schema", str, "json")
    want("command_topic", str, f"{prefix}/{board}/light/{light}/set")
    want("state_topic", str, f"{prefix}/{board}/light/{light}/state")
    want("effect", bool, True)
    want("effect_list", list, effects)
    want("supported_color_modes", list, ["onoff"])
    want("device", dict)
    want("availability", list)
    for key in ("command_topic", "state_topic"):
        if any(ch in str(c.get(key, "")) for ch in "+#"):
            problems.append(f"{topic}: {key} has a wildcard")
    if c.get("unique_id") in unique_ids:
        problems.append(f"{topic}: unique_id {c.get('unique_id')} is not unique")
    unique_ids.add(c.get("unique_id"))
    d = c.get("device", {})
    ids = d.get("identifiers")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        problems.append(f"{topic}: device.identifiers must be a non-empty list of strings")
    if d.get("name") != board:
        problems.append(f"{topic}: device.name is {d.get('name')!r}, expected {board!r}")
    for a in c.get("availability", []):
        if a != {"topic": f"{prefix}/{board}/state", "payload_available": "online",
                 "payload_not_available": "offline"}:
            problems.append(f"{topic}: availability entry {a!r}")
    # Keys of other schemas, which HA refuses with schema json.
    for key in ("payload_on", "payload_off", "brightness_command_topic", "state_value_template"):
        if key in c:
            problems.append(f"{topic}: {key} does not belong to the JSON schema")

for p in problems:
    print(p)
print(f"{len(lights)} configs checked, {len(problems)} problems")
sys.exit(1 if problems else 0)
