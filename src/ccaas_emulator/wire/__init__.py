"""Dataverse HTTP conventions: headers, the error envelope and catalogue, @odata.context."""
