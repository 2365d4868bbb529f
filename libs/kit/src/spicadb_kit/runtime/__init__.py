"""The local runtime and operator commands (`spicadb ...`)."""
