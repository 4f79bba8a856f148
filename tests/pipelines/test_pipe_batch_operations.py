"""S3 Batch Operations invoking the S3 handler (backfills past one machine): each task answered with
Succeeded / TemporaryFailure / PermanentFailure, against moto's S3 in server mode."""

from __future__ import annotations

from otel_llm import _instruments as names
from otel_llm.pipelines.handlers import Pipeline


def _event(bucket: str, keys: list[str], schema: str = "2.0") -> dict:
    tasks = []
    for i, key in enumerate(keys):
        task = {"taskId": f"task-{i}", "s3Key": key.replace(" ", "%20"), "s3VersionId": None}
        if schema == "1.0":
            task["s3BucketArn"] = f"arn:aws:s3:::{bucket}"
        else:
            task["s3Bucket"] = bucket
        tasks.append(task)
    return {"invocationSchemaVersion": schema, "invocationId": "inv-1",
            "job": {"id": "job-1", "userArguments": {}}, "tasks": tasks}


def test_each_task_is_scored_and_answered(s3, bucket, records, lexical_settings, lexical_scorer,
                                          meter_provider, reader, tools):
    key = f"{tools.prefix}/one object.json.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=tools.gz_lines(tools.as_line(records["claude"]),
                                                              tools.as_line(records["titan"])))
    pipeline = Pipeline(lexical_settings, meter_provider=meter_provider, scorer=lexical_scorer, s3_client=s3)
    for schema in ("1.0", "2.0"):
        response = pipeline.s3_handler(_event(bucket, [key, f"{tools.prefix}/missing.json.gz",
                                                       f"{tools.prefix}/data/x_input.json.gz"], schema))
        assert response["invocationSchemaVersion"] == schema and response["invocationId"] == "inv-1"
        assert response["treatMissingKeysAs"] == "PermanentFailure"
        codes = [(r["taskId"], r["resultCode"]) for r in response["results"]]
        assert codes == [("task-0", "Succeeded"), ("task-1", "PermanentFailure"), ("task-2", "Succeeded")]
        assert response["results"][0]["resultString"].startswith("scored 2")
    assert tools.histogram_counts(reader, names.SIMILARITY) == {tools.claude: 2, tools.titan: 2}


def test_a_scoring_outage_is_a_temporary_failure(s3, bucket, records, unreachable_aws_settings, tools,
                                                  meter_provider):
    key = f"{tools.prefix}/a.json.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=tools.gz_lines(tools.as_line(records["claude"])))
    pipeline = Pipeline(unreachable_aws_settings, meter_provider=meter_provider, s3_client=s3)
    [result] = pipeline.s3_handler(_event(bucket, [key]))["results"]
    assert result["resultCode"] == "TemporaryFailure" and "scoring failed" in result["resultString"]
