"""Dialogs and screens: help, questions, path prompt, the models dialog, training."""
