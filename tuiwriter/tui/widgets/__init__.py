"""The editor pane with ghost text, and the status bar."""
