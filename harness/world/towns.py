"""Town registry (names only here; specs and generation live in harness.world.town)."""

TOWN_NAMES: tuple[str, ...] = ("town01", "town02", "town05")
