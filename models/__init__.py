"""The shipped default model; installed as the `tuiwriter.models` package (see pyproject.toml)."""
