"""Model id resolution: bare ids, every cross-region prefix (incl. unseen ones), ARNs."""

from __future__ import annotations

import pytest

from otel_llm._bedrock.families import FAMILIES, lookup, resolve_family_name


@pytest.mark.parametrize(
    ("model_id", "base", "family", "provider"),
    [
        (
            "anthropic.claude-3-haiku-20240307-v1:0",
            "anthropic.claude-3-haiku-20240307-v1:0",
            "anthropic",
            "anthropic",
        ),
        ("anthropic.claude-v2:1", "anthropic.claude-v2:1", "anthropic", "anthropic"),
        ("amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0", "nova", "amazon"),
        ("amazon.titan-text-express-v1", "amazon.titan-text-express-v1", "titan", "amazon"),
        ("amazon.titan-tg1-large", "amazon.titan-tg1-large", "titan", "amazon"),
        ("amazon.titan-embed-text-v2:0", "amazon.titan-embed-text-v2:0", "embeddings", "amazon"),
        ("meta.llama3-1-70b-instruct-v1:0", "meta.llama3-1-70b-instruct-v1:0", "llama", "meta"),
        ("mistral.mistral-large-2407-v1:0", "mistral.mistral-large-2407-v1:0", "mistral", "mistral"),
        ("cohere.command-r-plus-v1:0", "cohere.command-r-plus-v1:0", "cohere", "cohere"),
        ("cohere.embed-multilingual-v3", "cohere.embed-multilingual-v3", "embeddings", "cohere"),
        ("ai21.jamba-1-5-large-v1:0", "ai21.jamba-1-5-large-v1:0", "jamba", "ai21"),
        ("deepseek.r1-v1:0", "deepseek.r1-v1:0", "deepseek", "deepseek"),
        ("openai.gpt-oss-120b-1:0", "openai.gpt-oss-120b-1:0", "openai", "openai"),
        ("qwen.qwen3-32b-v1:0", "qwen.qwen3-32b-v1:0", "generic", "qwen"),
    ],
)
def test_bare_ids_resolve_to_their_family(model_id, base, family, provider):
    ref = lookup(model_id)
    assert (ref.request_model, ref.model_id, ref.family.name, ref.provider_segment) == (
        model_id,
        base,
        family,
        provider,
    )


@pytest.mark.parametrize(
    "prefix", ["us.", "us-gov.", "eu.", "apac.", "jp.", "au.", "ca.", "global.", "xx.", "mars-north."]
)
def test_any_cross_region_prefix_is_stripped(prefix):
    ref = lookup(prefix + "anthropic.claude-sonnet-4-20250514-v1:0")
    assert ref.model_id == "anthropic.claude-sonnet-4-20250514-v1:0"
    assert ref.request_model == prefix + "anthropic.claude-sonnet-4-20250514-v1:0"
    assert ref.family.name == "anthropic"


@pytest.mark.parametrize(
    ("arn", "base", "family"),
    [
        (
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0",
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "anthropic",
        ),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-2-1b-instruct-v1:0",
            "meta.llama3-2-1b-instruct-v1:0",
            "llama",
        ),
        (
            "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:inference-profile/us-gov.amazon.nova-pro-v1:0",
            "amazon.nova-pro-v1:0",
            "nova",
        ),
        (
            "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/zz.mistral.pixtral-large-2502-v1:0",
            "mistral.pixtral-large-2502-v1:0",
            "mistral",
        ),
        (
            "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/a1b2c3",
            "amazon.titan-text-express-v1:0:8k",
            "titan",
        ),
    ],
)
def test_arns_resolve_to_the_base_model(arn, base, family):
    ref = lookup(arn)
    assert (ref.request_model, ref.model_id, ref.family.name) == (arn, base, family)


@pytest.mark.parametrize(
    "model_id",
    [
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5",
        "arn:aws:bedrock:us-east-1:123456789012:imported-model/k2j3h4g5f6",
        "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/p1q2r3",
        "my-gateway-model",
        "",
        "arn:broken",
    ],
)
def test_unresolvable_ids_stay_as_given_with_the_generic_family(model_id):
    ref = lookup(model_id)
    assert (ref.request_model, ref.model_id, ref.family.name, ref.provider_segment) == (
        model_id,
        model_id,
        "generic",
        None,
    )


def test_a_supplied_resolved_id_decides_base_and_family():
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5"
    ref = lookup(arn, "arn:aws:bedrock:us-east-1::foundation-model/cohere.command-r-v1:0")
    assert (ref.request_model, ref.model_id, ref.family.name, ref.provider_segment) == (
        arn,
        "cohere.command-r-v1:0",
        "cohere",
        "cohere",
    )


def test_non_string_ids_do_not_raise():
    assert lookup(None).family.name == "generic"  # type: ignore[arg-type]
    assert lookup(["x"]).family.name == "generic"  # type: ignore[arg-type]


def test_lookup_is_cached():
    assert lookup("eu.amazon.nova-micro-v1:0") is lookup("eu.amazon.nova-micro-v1:0")


def test_family_names_resolve_and_unknown_names_fall_back_to_generic():
    for name, family in FAMILIES.items():
        assert resolve_family_name(name) is family
        assert family.name == name
    assert resolve_family_name("no-such-family").name == "generic"
