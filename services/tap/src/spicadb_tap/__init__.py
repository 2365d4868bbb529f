"""SPICA-DB's TAP service: ADQL over the views the other services publish."""
