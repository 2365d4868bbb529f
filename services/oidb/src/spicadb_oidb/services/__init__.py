"""Domain services of oidb: keeping the table from events, and reading it with data rights."""
