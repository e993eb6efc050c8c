"""Contact-center metrics: service level, ASA, AHT, Erlang B and C. Pure."""
