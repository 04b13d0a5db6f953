"""bfabric-app-runner's formats: app.yml, inputs.yml, outputs.yml, chunks.yml, workunit definitions."""
