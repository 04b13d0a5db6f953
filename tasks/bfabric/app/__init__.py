"""One B-Fabric app run: its steps, their Prefect tasks, the workunit, the connection, artifacts."""
