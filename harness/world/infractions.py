"""Per-step event records the metrics collector scores: they live in :mod:`harness.backends.records`
(shared by every backend) and are re-exported here for code written against the embedded world."""

from harness.backends.records import Collision, RedLightRun, StepEvents  # noqa: F401
