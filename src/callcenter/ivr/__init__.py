"""IVR flows as data and a pure runner that turns events into media commands."""
