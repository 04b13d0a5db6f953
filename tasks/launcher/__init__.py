"""The launcher: BayerCLAW's job router on Prefect (one run per dropped job file version)."""
