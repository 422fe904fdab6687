"""The operator's /metrics as the tests read it: samples by name and labels.

Parsed with prometheus_client's own text parser, so a malformed exposition
fails here the way it would fail a Prometheus scrape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

Labels = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Exposition:
    """Every sample of one scrape: sample name -> {label set: value}."""

    samples: Mapping[str, Mapping[Labels, float]]
    families: Mapping[str, str]  # family name -> type (gauge, counter, histogram...)

    @classmethod
    def parse(cls, text: str) -> Exposition:
        samples: dict[str, dict[Labels, float]] = {}
        families: dict[str, str] = {}
        for family in text_string_to_metric_families(text):
            families[family.name] = family.type
            for sample in family.samples:
                series = samples.setdefault(sample.name, {})
                series[frozenset(sample.labels.items())] = sample.value
        return cls(samples, families)

    def series(self, name: str, **match: str) -> dict[Labels, float]:
        """The series of sample ``name`` whose labels include ``match``."""
        wanted = set(match.items())
        return {
            labels: value
            for labels, value in self.samples.get(name, {}).items()
            if wanted <= labels
        }

    def value(self, name: str, **match: str) -> float | None:
        """The one value of ``name`` matching ``match``; None if absent, error if several."""
        found = self.series(name, **match)
        if len(found) > 1:
            raise AssertionError(f"{name}{match}: {len(found)} series, expected at most one")
        return next(iter(found.values()), None)

    def by_label(self, name: str, label: str, **match: str) -> dict[str, float]:
        """``{value of label: sample value}`` for ``name`` matching ``match``."""
        return {
            dict(labels)[label]: value
            for labels, value in self.series(name, **match).items()
            if label in dict(labels)
        }

    def labelled(self, name: str, **match: str) -> list[tuple[dict[str, str], float]]:
        """Each matching series as (all its labels, value), by namespace, objective, key result."""
        rows = [(dict(labels), value) for labels, value in self.series(name, **match).items()]

        def order(row: tuple[dict[str, str], float]) -> tuple[str, ...]:
            labels = row[0]
            common = (labels.get(k, "") for k in ("namespace", "objective", "key_result"))
            return (*common, *(f"{k}={v}" for k, v in sorted(labels.items())))

        return sorted(rows, key=order)

    def names_with(self, **match: str) -> set[str]:
        """Sample names that have at least one series matching ``match``."""
        return {name for name in self.samples if self.series(name, **match)}

    def counter(self, name: str, **match: str) -> float:
        """A counter's value (0 when it has no such series yet)."""
        return sum(self.series(name, **match).values())
