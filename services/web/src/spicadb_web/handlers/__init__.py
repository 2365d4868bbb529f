"""The console's HTTP side: pages (thin: a service call, a template)."""
