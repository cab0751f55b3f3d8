"""Results: the record files (the source of truth), their index, and the one result identity.

``store`` writes and reads the files and the SQLite index; ``select`` says which records are
the same configuration, which is newest, which are timed and which failed their numerics;
``imports`` turns other tools' measurements into records.
"""
