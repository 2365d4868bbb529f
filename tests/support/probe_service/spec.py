from spicadb_kit.spec import ConsumerDecl, ServiceSpec, StreamDecl

STREAM = StreamDecl.for_producer("probe")
EFFECTS = ConsumerDecl(
    durable="probe_effects",
    stream=STREAM.name,
    filter_subjects=("spicadb.probe.>",),
    max_deliver=3,
    backoff_seconds=(0.2, 0.2, 0.2),
)

SPEC = ServiceSpec(
    name="probe",
    app="probe_service.app:create_app",
    default_port=8099,
    migrations="probe_service.migrations",
    streams=(STREAM,),
    consumers=(EFFECTS,),
    description="Event-path probe (tests and benchmarks only).",
)
