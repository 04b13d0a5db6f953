"""The BayerCLAW step engine: staging, substitution, commands, QC, choosers, subpipes, scatter-gather."""
