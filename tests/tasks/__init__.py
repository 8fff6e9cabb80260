"""Tests of the Prefect layer: the `ModelScopeCredentials` block and the tasks."""
