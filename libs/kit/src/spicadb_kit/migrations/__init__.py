"""SQL migrations of the kit itself (event bus tables), applied in every service schema."""
