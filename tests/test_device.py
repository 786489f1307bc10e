"""physllm/device.py: the one "auto" device resolver."""

import pytest
import torch

from physllm.device import resolve_device
from physllm.errors import PhysllmError


def test_auto_and_none_pick_cuda_when_there_is_one_else_cpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == resolve_device(None).type == expected
    assert resolve_device("cpu") == torch.device("cpu")


def test_an_unknown_device_is_a_user_facing_error_naming_it():
    with pytest.raises(PhysllmError, match="tpu9"):
        resolve_device("tpu9")
