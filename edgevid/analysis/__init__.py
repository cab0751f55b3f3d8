"""Analysis of result records: compare two sets, session statistics, layer diffs, op support and
the small statistics the reports use. Reads records; never runs or renders anything."""
