"""A usage event's envelope id is uuid5 of (tenant, event id), spelled without a UUID object."""

from __future__ import annotations

import random
import uuid

from meterplex.usage.keys import _ENVELOPE_NAMESPACE, envelope_id


def test_the_envelope_id_is_the_uuid5_of_tenant_and_event() -> None:
    chance = random.Random(14)
    alphabet = "abcXYZ019-_:#\x00 é漢🙂'\""
    for _ in range(5_000):
        tenant = "".join(chance.choice(alphabet) for _ in range(chance.randint(0, 40)))
        event = "".join(chance.choice(alphabet) for _ in range(chance.randint(0, 255)))
        assert envelope_id(tenant, event) == str(uuid.uuid5(_ENVELOPE_NAMESPACE, f"{tenant}\x00{event}"))
    assert envelope_id("t", "e") != envelope_id("t", "f")
