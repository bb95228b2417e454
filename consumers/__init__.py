"""Side-effect consumers: one module per side effect, the registry, and their runtime."""
