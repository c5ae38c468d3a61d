"""Helpers for the sanitizer tests: drive a sample arm's own load mix through `stress_app_async`."""

from __future__ import annotations

import random

from sessionlint.harness.app_stress import AppStressOptions, stress_app_async
from sessionlint.harness.request_specs import RequestSpec


class _Values:
    """What a scenario's `load_op` needs from the driver: fresh unique values."""

    def __init__(self) -> None:
        self.last = 0

    def unique(self) -> int:
        self.last += 1
        return self.last


def load_mix(scenario, count: int, seed: int = 0) -> list[RequestSpec]:
    """`count` requests of the scenario's load mode (no barriers), as plain request specs."""
    rng, values = random.Random(seed), _Values()
    ops = [scenario.load_op(rng, values) for _ in range(count)]
    return [RequestSpec(op.method, op.path, op.json) for op in ops]


async def sanitize_arm(scenario, arm: str, database_url: str, requests: int = 60, concurrency: int = 6,
                       duration: float = 8.0):
    app = scenario.create_app(arm, database_url)
    options = AppStressOptions(requests=requests, concurrency=concurrency, duration=duration, use_openapi=False,
                               sequential=True, extra_requests=load_mix(scenario, requests))
    return await stress_app_async(app, options, label=f"{scenario.NAME} {arm}")
