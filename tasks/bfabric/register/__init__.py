"""Registering a chunk's outputs (outputs.yml) in B-Fabric, one registrar per output type."""
