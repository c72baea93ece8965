"""`platform.kafka.read_offsets` where the real broker of the integration tests cannot go: Tansu
never trims a partition (retention) and refuses DeleteRecords, so a partition whose low watermark
passed the asked offsets is a fake consumer here. Reads from a real broker: tests/integration/admin."""

from __future__ import annotations

from typing import Any

import confluent_kafka
import pytest

from meterplex.platform.kafka import RecordsGone, read_offsets
from meterplex.platform.settings import KafkaSettings


class TrimmedPartition:
    """A consumer of a partition whose records before offset 100 retention has deleted."""

    assigned: list[Any] = []

    def __init__(self, config: dict[str, Any]) -> None:
        assert config["enable.auto.commit"] is False  # a reader by offset never commits

    def get_watermark_offsets(self, partition: Any, timeout: float) -> tuple[int, int]:
        return 100, 250

    def assign(self, partitions: list[Any]) -> None:
        self.assigned.extend(partitions)

    def close(self) -> None:
        pass


def test_offsets_before_the_low_watermark_are_gone_to_retention(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(confluent_kafka, "Consumer", TrimmedPartition)
    settings = KafkaSettings.from_env({"MP_KAFKA_BOOTSTRAP": "broker:9092"})
    with pytest.raises(RecordsGone, match=r"from 100 only \(retention\)"):
        read_offsets(settings, "meterplex.usage.v1", 0, 40, 41)
    assert TrimmedPartition.assigned == []  # nothing is fetched


def test_an_empty_or_reversed_range_is_no_offsets() -> None:
    settings = KafkaSettings.from_env({"MP_KAFKA_BOOTSTRAP": "broker:9092"})
    with pytest.raises(RecordsGone, match="no such offsets"):
        read_offsets(settings, "meterplex.usage.v1", 0, 5, 4)
