"""SPICA-DB oidb service: the OiDB table (ObsCore granules with JMMC's OiDB columns) kept from the
oifits and night-log events; a JSON listing and DataLink 1.1 links, with data rights on every path."""
