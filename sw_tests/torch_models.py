"""Everyday torch modules exported to ONNX (``torch.onnx.export``, TorchScript exporter) for the bring-your-own-model
tests: each model class the build supports, at a chosen opset."""

from __future__ import annotations

import io

import onnx
import torch
from torch import nn


class Residual(nn.Module):
    """conv -> relu -> conv, plus the input (a DAG, not a chain), then a classifier."""

    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(2, 2, 3, padding=1), nn.Conv2d(2, 2, 3, padding=1, bias=False)
        self.head = nn.Sequential(nn.ReLU(), nn.Flatten(), nn.Linear(2 * 6 * 6, 4))

    def forward(self, x):
        return self.head(self.c2(torch.relu(self.c1(x))) + x)


class ChannelsLast(nn.Module):
    """What Keras-style exporters write: an NHWC input, Transposes around the convolution."""

    def __init__(self):
        super().__init__()
        self.conv, self.fc = nn.Conv2d(3, 4, 3), nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):  # x: [N, H, W, C]
        y = torch.relu(self.conv(x.permute(0, 3, 1, 2)))
        return self.fc(y.permute(0, 2, 3, 1).reshape(-1, 4 * 4 * 4))


def models() -> dict[str, tuple[nn.Module, tuple[int, ...]]]:
    """name -> (module, one sample's input shape)."""
    torch.manual_seed(0)
    return {
        "linear_nobias": (nn.Sequential(nn.Linear(12, 8, bias=False), nn.ReLU(), nn.Linear(8, 3, bias=False)), (12,)),
        "conv_stride_pad": (nn.Sequential(nn.Conv2d(1, 3, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                                          nn.Linear(3 * 4 * 4, 4)), (1, 8, 8)),
        "conv_nobias_featuremap": (nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, bias=False), nn.ReLU()), (2, 5, 5)),
        "maxpool_pad": (nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(3, stride=2, padding=1), nn.Flatten(),
                                      nn.Linear(2 * 4 * 4, 3)), (1, 9, 9)),
        "avgpool": (nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(2 * 3 * 3, 3)),
                    (1, 8, 8)),
        "avgpool_pad": (nn.Sequential(nn.Conv2d(1, 2, 3), nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
                                      nn.Flatten(), nn.Linear(2 * 3 * 3, 3)), (1, 7, 7)),
        "global_avgpool": (nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                         nn.Linear(4, 3)), (1, 6, 6)),
        "batchnorm_alone": (nn.Sequential(nn.BatchNorm2d(3)), (3, 4, 4)),
        "batchnorm_after_relu": (nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.BatchNorm2d(3), nn.Flatten(),
                                               nn.Linear(3 * 4 * 4, 2)), (1, 6, 6)),
        "batchnorm1d_after_flatten": (nn.Sequential(nn.Flatten(), nn.BatchNorm1d(16), nn.Linear(16, 3)), (1, 4, 4)),
        "residual": (Residual(), (2, 6, 6)),
        "sigmoid_mlp": (nn.Sequential(nn.Linear(10, 8), nn.Sigmoid(), nn.Linear(8, 3)), (10,)),
        "tanh_mlp": (nn.Sequential(nn.Linear(10, 8), nn.Tanh(), nn.Linear(8, 3)), (10,)),
        "leaky_relu6": (nn.Sequential(nn.Linear(10, 8), nn.LeakyReLU(0.1), nn.Linear(8, 6), nn.ReLU6()), (10,)),
        "softmax_out": (nn.Sequential(nn.Linear(10, 4), nn.Softmax(dim=1)), (10,)),
        "no_weights": (nn.Sequential(nn.MaxPool2d(2), nn.ReLU()), (2, 6, 6)),
        "channels_last": (ChannelsLast(), (6, 6, 3)),
        "dropout_identity": (nn.Sequential(nn.Linear(6, 5), nn.Dropout(0.3), nn.Identity(), nn.ReLU(),
                                           nn.Linear(5, 2)), (6,)),
    }


def export(module: nn.Module, shape: tuple[int, ...], opset: int, dynamic_batch: bool = True) -> onnx.ModelProto:
    """``torch.onnx.export`` (TorchScript exporter) of ``module`` at ``opset``, input ``x``, output ``y``."""
    buf = io.BytesIO()
    axes = {"x": {0: "N"}, "y": {0: "N"}} if dynamic_batch else None
    torch.onnx.export(module.eval(), (torch.zeros(1, *shape),), buf, dynamo=False, opset_version=opset,
                      input_names=["x"], output_names=["y"], dynamic_axes=axes)
    return onnx.load_from_string(buf.getvalue())
