"""ACD routing core: agents, queues, strategies, overflow. Pure: ``now`` and RNG passed in."""
