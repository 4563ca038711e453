"""The Textual app: app.py and its stylesheet, messages, widgets/ and screens/."""
