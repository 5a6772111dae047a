"""Tools that drive or measure the platform from outside: load generators, benchmarks."""
