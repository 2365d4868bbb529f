"""SPICA-DB programmes service: large programmes, proposals, work packages, targets, observing
setups and requests, Aspro2 target lists, and progress from the night logs."""
