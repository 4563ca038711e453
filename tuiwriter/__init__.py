"""tuiwriter: a terminal writing assistant with a character-level LSTM trained on your own files."""

__version__ = "0.1.0"
