"""FLAP bias compensation: fold the mean contribution of removed input channels into the bias.

For a linear y = W x + b whose input channels j in R are removed, the expected output is kept by
b' = b + W[:, R] @ mean(x_R). Exact when the removed channels are constant over the calibration
tokens. Where the module has no bias, one is created; ``io`` records the new parameter in the
saved config so the folder reloads. This module does not choose what to remove.
"""

from __future__ import annotations

import torch
from torch import nn


def bias_delta(w: torch.Tensor, mean: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """[out] = W[:, removed] @ mean[removed]; w [out, in], mean [in], keep [in] bool."""
    removed = ~keep.to(torch.bool)
    return (w.to(torch.float64)[:, removed] @ mean.to(torch.float64)[removed])


@torch.no_grad()
def compensate(lin: nn.Linear, mean: torch.Tensor, keep: torch.Tensor) -> bool:
    """Add the removed channels' mean contribution to ``lin``'s bias (call *before* surgery).

    Returns True when a bias had to be created.
    """
    delta = bias_delta(lin.weight.data, mean.to(lin.weight.device), keep.to(lin.weight.device))
    created = lin.bias is None
    if created:
        lin.bias = nn.Parameter(torch.zeros(lin.out_features, dtype=lin.weight.dtype,
                                            device=lin.weight.device))
    lin.bias.data += delta.to(lin.bias.dtype)
    return created
