"""spicadb-drs: the DRS's command to push reduced OIFITS files to SPICA-DB (see ``client``).

A package of its own, outside the oifits service: it talks to the service over HTTP only, so it needs
neither the server's dependencies nor the server's code.
"""
