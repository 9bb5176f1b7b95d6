"""HTTP routes: the engine's task endpoints, the direct endpoint, and error mapping."""
