"""Repositories: typed, synchronous, one transaction per write; they return frozen records.

Records are plain frozen dataclasses, never live ORM objects, so they can cross threads (see
``callcenter.storage.aio``) and no caller can write to the database by mutating one.
"""
