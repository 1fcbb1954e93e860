#!/usr/bin/env python3
"""Times the training step of a CIFAR ResNet-20 in PyTorch (reference for the C# benchmark).

Run with Debian's /usr/bin/python3 (python3-torch 1.13). Prints exactly one JSON line on stdout:
  {"framework": "pytorch", "torch_version": ..., "threads": T, "batch": B,
   "parameters": P, "step_seconds": [...]}

Network (He et al. 2016, CIFAR variant):
  conv3x3(3->16) -> BN -> ReLU
  3 stages x 3 BasicBlocks with 16/32/64 channels; the first block of stages 2 and 3 has stride 2
  BasicBlock: conv3x3(s) -> BN -> ReLU -> conv3x3(1) -> BN, + shortcut, ReLU
  shortcut when the shape changes:
    A (default): parameter-free, x[:, :, ::2, ::2] zero-padded in channels -> 269,722 parameters
    B          : 1x1 conv (stride 2, no bias) + BN                         -> 272,474 parameters
  adaptive avg pool 1x1 -> flatten -> Linear(64 -> 10)
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


class ShortcutA(nn.Module):
    """Option A: subsample spatially, zero-pad the channels (no parameters)."""

    def __init__(self, planes):
        super().__init__()
        self.pad = planes // 4

    def forward(self, x):
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))


class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride, shortcut):
        super().__init__()
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, 1)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride == 1 and in_planes == planes:
            self.shortcut = nn.Identity()
        elif shortcut == "A":
            self.shortcut = ShortcutA(planes)
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet20(nn.Module):
    def __init__(self, num_classes=10, shortcut="A"):
        super().__init__()
        self.conv1 = conv3x3(3, 16, 1)
        self.bn1 = nn.BatchNorm2d(16)
        layers = []
        in_planes = 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(3):
                s = stride if i == 0 else 1
                layers.append(BasicBlock(in_planes, planes, s, shortcut))
                in_planes = planes
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes, bias=True)

        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layers(x)
        x = torch.flatten(self.pool(x), 1)
        return self.fc(x)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shortcut", choices=("A", "B"), default="A",
                   help="A: parameter-free zero-pad shortcut (default); B: 1x1 conv + BN projection")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    model = ResNet20(10, args.shortcut)
    model.train()
    n_params = sum(t.numel() for t in model.parameters())

    x = torch.randn(args.batch, 3, 32, 32)
    y = torch.randint(0, 10, (args.batch,))

    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9,
                          weight_decay=1e-4, nesterov=False)

    def step():
        opt.zero_grad(set_to_none=True)
        out = model(x)
        loss = F.cross_entropy(out, y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(args.warmup):
        step()

    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)

    print(json.dumps({
        "framework": "pytorch",
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "parameters": n_params,
        "step_seconds": times,
    }))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
