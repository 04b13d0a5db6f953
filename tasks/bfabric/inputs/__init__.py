"""Inputs of a B-Fabric app chunk: resolve inputs.yml, fetch, check and clean the files."""
