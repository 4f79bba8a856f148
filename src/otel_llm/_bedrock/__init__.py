"""What otel-llm knows of Bedrock itself, shared by the instrumentation and the pipelines: the model
families' body parsers and the model-id lookup."""
