"""Domain services of obsportal: keeping the view from events, and reading it with data rights."""
