"""Recordings: continuous encrypted recording of the cameras' streams."""
