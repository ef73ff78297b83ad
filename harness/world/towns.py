"""Town registry (names only here; specs live in harness.world.town, generation and the cache of named towns in harness.world.town_gen)."""

TOWN_NAMES: tuple[str, ...] = ("town01", "town02", "town05")
