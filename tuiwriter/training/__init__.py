"""Training: the loop, what every run sets up, and the editor's background job."""
