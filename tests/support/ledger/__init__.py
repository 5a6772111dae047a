"""A minimal service used only by kernel tests: it records one effect row per handled event."""
