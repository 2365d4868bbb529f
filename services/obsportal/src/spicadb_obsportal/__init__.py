"""SPICA-DB obsportal service: the L0 observation view (as JMMC's ObsPortal), kept from the night-log
events; Aspro2's raw-observation search (search.votable), a Simple Cone Search and a REST listing."""
