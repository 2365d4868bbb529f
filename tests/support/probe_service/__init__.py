"""The probe: the smallest service with the shape of every SPICA-DB service (handlers ->
service -> storage, outbox out, consumer in). Tests and `make bench` drive the event path
through it; it is not deployed."""
