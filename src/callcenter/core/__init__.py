"""Shared vocabulary of every layer: ids, domain events, the Clock protocol. No I/O."""
