"""Text without torch or textual: the vocabulary, the training corpus, the document being edited, crash recovery."""
