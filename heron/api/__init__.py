"""The ways in over HTTP: the REST API and the activity feed."""
