"""Tools that never run in production: benchmarks, evaluation, the city simulator, load generators."""
