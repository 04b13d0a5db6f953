"""BayerCLAW workflow files: the step models, the parser, the JSON Schema, expressions and units."""
