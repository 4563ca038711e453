"""What every command's arguments share: a parser whose errors are one line, and value types."""

from __future__ import annotations

import argparse


class UsageError(Exception):
    """Bad command-line input: one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print usage on two lines
        raise UsageError(message)


def positive(kind):
    """An argparse type: a number of `kind` greater than 0."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be greater than 0: {text}")
        return value

    return parse


def between(low: float, high: float):
    """An argparse type: a number from `low` to `high`."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}: {text}")
        return value

    return parse


temperature = between(0.0, 2.0)  # a sampling temperature


def active_model(explicit: str | None) -> str:
    """`--model` when given, else the model config.toml names."""
    if explicit:
        return explicit
    from tuiwriter import settings

    return settings.load()[0].model
