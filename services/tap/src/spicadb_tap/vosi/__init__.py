"""VOSI and DALI documents of the TAP service: availability, capabilities (TAPRegExt), tables
(VODataService tableset) and examples (DALI), written from the settings and the catalogue."""
