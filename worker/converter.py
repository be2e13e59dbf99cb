"""The data converter every client and worker of the product uses: pydantic, plus the optional codec.

With a codec, failures are converted by `DefaultFailureConverterWithEncodedAttributes`, so failure
messages and stack traces are encrypted too (otherwise they stay plaintext in the history).
"""

from __future__ import annotations

import dataclasses

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

from worker.codec import EncryptionCodec, keys_from_environment


def data_converter(*, codec: PayloadCodec | None = None) -> DataConverter:
    """The pydantic data converter, with `codec` and encoded failure attributes when given."""
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def data_converter_from_environment() -> DataConverter:
    """`data_converter` with the codec configured by CLUSTERSET_CODEC_KEY(_FILE), if any."""
    keys = keys_from_environment()
    return data_converter(codec=EncryptionCodec(keys) if keys else None)
