"""The traffic simulator: a city's worth of reporters, dispatchers, departments, inspectors and street
offices, talking to a running platform only over its public HTTP APIs (see `tools.simulate`)."""
