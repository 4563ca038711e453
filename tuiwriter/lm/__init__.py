"""The language model: names and sizes (no torch), the char model, the checkpoint format, the model store, sampling."""
