"""The Dataverse read side: entity sets, query options, $metadata."""
