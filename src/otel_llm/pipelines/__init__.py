"""Offline scoring of Bedrock calls: invocation logs (S3, CloudWatch Logs) and Kinesis records, as Lambda
handlers (`handlers`) and as `otel-llm replay` (`replay`), with the in-process SDK's scorer and histograms."""
