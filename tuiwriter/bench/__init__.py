"""Measuring: the simulated writer of `tuiwriter eval`, speed figures, and the fits behind the engine's constants."""
