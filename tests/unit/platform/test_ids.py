"""UUIDv7 ids: valid version/variant, unique, and sorted in creation order even within one ms."""

import uuid

from meterplex.platform.ids import new_id


def test_ids_are_uuid_v7_unique_and_monotonic() -> None:
    ids = [new_id() for _ in range(5000)]  # far more than one millisecond's worth
    parsed = [uuid.UUID(i) for i in ids]
    assert all(p.version == 7 and p.variant == uuid.RFC_4122 for p in parsed)
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
