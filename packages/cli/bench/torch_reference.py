#!/usr/bin/python3
"""PyTorch reference for `npm run bench:speed`: the quick preset's RetinaNet and FCOS built with
torchvision.models.detection, timed the same way (run by hand, not in CI):

    /usr/bin/python3 packages/cli/bench/torch_reference.py [--threads 1,2] [--runs 7] [--warmup 2]
        [--detectors retinanet,fcos] [--out runs/bench/torch.json] [--profile]

Then `npm run bench:speed -- --from runs/bench/speed.json --torch runs/bench/torch.json` prints
ours / PyTorch ratios.

The network is the one `hpf bench stable-gain --preset quick` trains (packages/cli/src/bench.ts,
packages/cli/src/registry.ts, packages/nn/src/backbone/presets.ts):
- backbone resnet10-mini: torchvision BasicBlocks, one per stage, widths 16/32/64/128 (a quarter
  of ResNet-18's), stem 7x7/2 conv + BN + ReLU + 3x3/2 max-pool, BatchNorm in train mode;
- FPN 32 channels, P3-P7; the extra levels from C5 (RetinaNet) or P5 (FCOS), as ours;
- heads of 32 channels with 2 stacked convs (torchvision's RetinaNet head has 4 hard-coded: the
  towers are cut to their first 2 units), no norm for RetinaNet, GroupNorm(32) for FCOS;
- RetinaNet anchors as ours on small inputs: octave base scale 1, 3 scales per octave, ratios
  0.5/1/2, strides 8-128 (9 per location); FCOS one point per location;
- 128x128 input, batch 8, 10 classes; GeneralizedRCNNTransform's resize is replaced by the
  identity (our loader letterboxes before the step) and its normalisation by mean 0 / std 1;
- test settings as ours: score threshold 0.05 (and 0 for the worst case), NMS IoU 0.5, 1000
  candidates per level, 100 detections per image.
A training step is forward + loss + backward + gradient clipping at norm 35 + SGD (momentum 0.9,
weight decay 1e-4), as `hpf train`. Targets: 1-12 random boxes of 8-96 px per image (fixed seed),
like digits-det quick. Reported: median wall and process-CPU milliseconds of `runs` timed runs
after `warmup` untimed ones, per thread count (torch.set_num_threads).
"""
import argparse
import json
import os
import platform
import statistics
import time
from collections import OrderedDict

import torch
import torchvision
from torch import nn
from torchvision.models.detection import FCOS, RetinaNet
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.fcos import FCOSHead
from torchvision.models.detection.retinanet import RetinaNetHead
from torchvision.models.resnet import BasicBlock
from torchvision.ops.feature_pyramid_network import FeaturePyramidNetwork, LastLevelP6P7

NUM_CLASSES = 10
IMAGE_SIZE = 128
WIDTHS = (16, 32, 64, 128)  # resnet10-mini: base width 64 x 0.25, one BasicBlock per stage
CHANNELS = 32
STACKED_CONVS = 2
STRIDES = (8, 16, 32, 64, 128)


class MiniResNetFpn(nn.Module):
    """ResNet (BasicBlock, [1, 1, 1, 1], widths 16-128) + FPN P3-P7: the quick preset's network.

    `resnet_init`: the ResNet convs get torchvision's ResNet init (kaiming_normal_, fan_out), as
    torchvision's resnet builders and ours (@hpf/nn) do. Without it they keep nn.Conv2d's default
    init, whose std is 1.7-2.5x smaller here (packages/fcos/README.md, "Against the twin")."""

    def __init__(self, extra_from_output: bool, resnet_init: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(3, WIDTHS[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(WIDTHS[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        layers = []
        inplanes = WIDTHS[0]
        for i, planes in enumerate(WIDTHS):
            stride = 1 if i == 0 else 2
            downsample = None
            if stride != 1 or inplanes != planes:
                downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
            layers.append(BasicBlock(inplanes, planes, stride, downsample))
            inplanes = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        if resnet_init:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        # P6 from C5 (RetinaNet, in_channels 128 != 32) or from P5 (FCOS, 32 == 32).
        extra = LastLevelP6P7(CHANNELS if extra_from_output else WIDTHS[3], CHANNELS)
        self.fpn = FeaturePyramidNetwork(list(WIDTHS[1:]), CHANNELS, extra_blocks=extra)
        self.out_channels = CHANNELS

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        c2 = self.layer1(x)
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        c5 = self.layer4(c4)
        return self.fpn(OrderedDict([("c3", c3), ("c4", c4), ("c5", c5)]))


def cut_tower(tower: nn.Sequential, units: int, layers_per_unit: int) -> nn.Sequential:
    return nn.Sequential(*list(tower.children())[: units * layers_per_unit])


class RangeScaledFCOS(FCOS):
    """torchvision's FCOS with its regress ranges times `range_scale` and nothing else changed.

    torchvision derives a level's range (4x to 8x the anchor side) and also its centre-sampling
    radius (1.5x) and the regression normaliser (1x) from the one anchor side, so shrinking the
    anchors to get smaller ranges would also shrink the other two. Here anchors stay one stride wide
    and only the range test is scaled, as ours (and mmdetection's `regress_ranges`) do."""

    def __init__(self, *args, range_scale: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.range_scale = range_scale

    def compute_loss(self, targets, head_outputs, anchors, num_anchors_per_level):
        matched = []
        for points, target in zip(anchors, targets):
            boxes = target["boxes"]
            if boxes.numel() == 0:
                matched.append(torch.full((points.size(0),), -1, dtype=torch.int64, device=points.device))
                continue
            side = points[:, 2] - points[:, 0]  # one stride per level
            centre = (points[:, :2] + points[:, 2:]) / 2
            px, py = centre[:, 0:1], centre[:, 1:2]
            ltrb = torch.stack([px - boxes[None, :, 0], py - boxes[None, :, 1], boxes[None, :, 2] - px, boxes[None, :, 3] - py], dim=2)
            box_centre = (boxes[:, :2] + boxes[:, 2:]) / 2
            near = (centre[:, None, :] - box_centre[None, :, :]).abs().amax(dim=2) < self.center_sampling_radius * side[:, None]
            inside = ltrb.amin(dim=2) > 0
            low = 4 * self.range_scale * side
            high = 8 * self.range_scale * side
            low[: num_anchors_per_level[0]] = 0
            high[-num_anchors_per_level[-1]:] = float("inf")
            reach = ltrb.amax(dim=2)
            ok = near & inside & (reach > low[:, None]) & (reach < high[:, None])
            # the smallest box wins where several qualify; unmatched points get -1
            area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
            cost = torch.where(ok, area[None, :], torch.full_like(ok, float("inf"), dtype=area.dtype))
            best, index = cost.min(dim=1)
            index[torch.isinf(best)] = -1
            matched.append(index)
        return self.head.compute_loss(targets, head_outputs, anchors, matched)


class CenternessWeightedFCOSHead(FCOSHead):
    """FCOSHead whose GIoU loss is weighted by each positive's centerness target and normalised by
    their sum (mmdetection's FCOS, and ours), instead of torchvision's plain mean over positives.
    Classification and centerness terms are unchanged (focal sum and BCE sum over positives / count)."""

    def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
        losses = super().compute_loss(targets, head_outputs, anchors, matched_idxs)
        labels = torch.stack([torch.where(m < 0, -1, t["labels"][m.clip(min=0)]) if t["labels"].numel() else torch.full_like(m, -1) for t, m in zip(targets, matched_idxs)])
        boxes = torch.stack([t["boxes"][m.clip(min=0)] if t["boxes"].numel() else t["boxes"].new_zeros((m.numel(), 4)) for t, m in zip(targets, matched_idxs)])
        points = torch.stack(anchors)
        fg = labels >= 0
        predicted = self.box_coder.decode(head_outputs["bbox_regression"], points)
        ltrb = self.box_coder.encode(points, boxes)[fg]
        lr, tb = ltrb[:, [0, 2]], ltrb[:, [1, 3]]
        weight = torch.sqrt((lr.amin(dim=1) / lr.amax(dim=1)) * (tb.amin(dim=1) / tb.amax(dim=1)))
        giou = torchvision.ops.generalized_box_iou_loss(predicted[fg], boxes[fg], reduction="none")
        losses["bbox_regression"] = (giou * weight).sum() / weight.sum().clamp(min=1e-6)
        return losses


class OffsetPoints(AnchorGenerator):
    """torchvision's AnchorGenerator with every anchor moved by `offset` strides in x and y.
    torchvision puts FCOS' points at (i * s, j * s); mmdetection's and ours are at
    ((i + .5) s, (j + .5) s), i.e. offset .5. Loss and decoding both read these anchors."""

    def __init__(self, sizes, aspect_ratios, offset: float):
        super().__init__(sizes, aspect_ratios)
        self.offset = offset

    def forward(self, image_list, feature_maps):
        return [a + self.offset * (a[:, 2:3] - a[:, 0:1]) for a in super().forward(image_list, feature_maps)]


def identity_resize(image, target=None):
    return image, target


def build(
    detector: str,
    score_thresh: float,
    octave_base_scale: float = 1.0,
    fcos_range_scale: float = 1.0,
    fcos_centerness_weighted_giou: bool = False,
    fcos_point_offset: float = 0.0,
    backbone_init: str = "pytorch",
) -> nn.Module:
    """torchvision's detector on the quick network. `octave_base_scale`: RetinaNet's anchor side at
    the first scale / stride (ours on small inputs: 1; published: 4). `fcos_range_scale`: FCOS' regress
    ranges times this (0.5: published / 2), see RangeScaledFCOS. `fcos_centerness_weighted_giou`:
    see CenternessWeightedFCOSHead. `fcos_point_offset`: see OffsetPoints (0: torchvision's, .5: ours).
    `backbone_init`: 'pytorch' (nn.Conv2d's default) or 'torchvision' (ResNet's), see MiniResNetFpn."""
    if backbone_init not in ("pytorch", "torchvision"):
        raise SystemExit(f"backbone_init: 'pytorch' or 'torchvision', got '{backbone_init}'")
    common = dict(
        min_size=IMAGE_SIZE,
        max_size=IMAGE_SIZE,
        image_mean=[0.0, 0.0, 0.0],
        image_std=[1.0, 1.0, 1.0],
        score_thresh=score_thresh,
        nms_thresh=0.5,
        detections_per_img=100,
        topk_candidates=1000,
    )
    if detector == "retinanet":
        sizes = tuple(tuple(octave_base_scale * s * 2 ** (i / 3) for i in range(3)) for s in STRIDES)
        anchors = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(STRIDES))
        head = RetinaNetHead(CHANNELS, anchors.num_anchors_per_location()[0], NUM_CLASSES)
        # torchvision builds 4 conv+ReLU units (Conv2dNormActivation, one child each); ours has 2.
        head.classification_head.conv = cut_tower(head.classification_head.conv, STACKED_CONVS, 1)
        head.regression_head.conv = cut_tower(head.regression_head.conv, STACKED_CONVS, 1)
        model = RetinaNet(MiniResNetFpn(extra_from_output=False, resnet_init=backbone_init == "torchvision"), NUM_CLASSES, anchor_generator=anchors, head=head, **common)
    elif detector == "fcos":
        anchors = OffsetPoints(tuple((s,) for s in STRIDES), ((1.0,),) * len(STRIDES), fcos_point_offset)
        head = (CenternessWeightedFCOSHead if fcos_centerness_weighted_giou else FCOSHead)(CHANNELS, 1, NUM_CLASSES, num_convs=STACKED_CONVS)
        model = RangeScaledFCOS(MiniResNetFpn(extra_from_output=True, resnet_init=backbone_init == "torchvision"), NUM_CLASSES, anchor_generator=anchors, head=head, center_sampling_radius=1.5, range_scale=fcos_range_scale, **common)
    else:
        raise SystemExit(f"--detectors: unknown detector '{detector}' (known: retinanet, fcos)")
    model.transform.resize = identity_resize
    return model


def fcos_name_in_ours(name: str):
    """The FCOS twin's state-dict name -> ours (@hpf/fcos, as `saveTorchState` writes it), or None for
    the twin's head conv biases, which ours does not have: GroupNorm with one channel per group (32
    groups, 32 channels) removes any per-channel constant, so they have no effect and no gradient."""
    parts = name.split(".")
    if parts[0] == "backbone" and parts[1].startswith("layer"):
        return ".".join(["backbone", parts[1], "0"] + parts[2:])
    if name.startswith("backbone.fpn."):
        kind, index = parts[2], parts[3]
        if kind == "inner_blocks":
            return f"neck.lateral_convs.{index}.conv.{parts[5]}"
        if kind == "layer_blocks":
            return f"neck.fpn_convs.{index}.conv.{parts[5]}"
        if kind == "extra_blocks":
            return f"neck.fpn_convs.{3 if index == 'p6' else 4}.conv.{parts[4]}"
    if parts[0] == "backbone":
        return name
    if parts[0] == "head":
        branch = {"classification_head": "cls_convs", "regression_head": "reg_convs"}[parts[1]]
        if parts[2] == "conv":
            unit, layer = divmod(int(parts[3]), 3)  # Conv2d, GroupNorm, ReLU per unit
            if layer == 0 and parts[4] == "bias":
                return None
            return f"bbox_head.{branch}.{unit}.{'conv' if layer == 0 else 'gn'}.{parts[4]}"
        out = {"cls_logits": "conv_cls", "bbox_reg": "conv_reg", "bbox_ctrness": "conv_centerness"}[parts[2]]
        return f"bbox_head.{out}.{parts[3]}"
    raise ValueError(f"fcos_name_in_ours: no mapping for '{name}'")


def read_safetensors(path: str) -> dict:
    """A safetensors file (F32/F16) as float32 tensors (Debian has no python3-safetensors)."""
    import numpy as np

    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = {"F32": np.float32, "F16": np.float16}.get(entry["dtype"])
        if dtype is None:
            raise SystemExit(f"{path}: tensor '{name}' is {entry['dtype']}; only F32 and F16 are read")
        start, end = entry["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[8 + n + start : 8 + n + end], dtype=dtype).astype(np.float32).reshape(entry["shape"]))
    return out


def load_fcos_from_ours(model: nn.Module, path: str) -> None:
    """Sets every weight of the FCOS twin from our FCOS's torch-layout state file (`saveTorchState`,
    or `hpf train`'s initial weights): the same initial network on both sides. Our per-level Scales
    must be 1 (the twin has none); the twin's head conv biases are set to 0 (see fcos_name_in_ours)."""
    ours = read_safetensors(path)
    state = model.state_dict()
    used = set()
    with torch.no_grad():
        for name, t in state.items():
            if name.endswith("num_batches_tracked"):
                continue
            key = fcos_name_in_ours(name)
            if key is None:
                t.zero_()
                continue
            if key not in ours or tuple(ours[key].shape) != tuple(t.shape):
                raise SystemExit(f"{path}: '{key}' (the twin's {name}, {tuple(t.shape)}) is missing or has shape {tuple(ours[key].shape) if key in ours else None}")
            t.copy_(ours[key])
            used.add(key)
    scales = [k for k in ours if ".scales." in k]
    if any(float(ours[k]) != 1 for k in scales):
        raise SystemExit(f"{path}: the per-level Scales are not 1; the twin has none")
    left = set(ours) - used - set(scales)
    if left:
        raise SystemExit(f"{path}: tensors the twin has no place for: {sorted(left)}")


def make_batch(batch_size: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    images = [torch.rand(3, IMAGE_SIZE, IMAGE_SIZE, generator=g) for _ in range(batch_size)]
    targets = []
    for _ in range(batch_size):
        n = int(torch.randint(1, 13, (1,), generator=g))
        side = 8 + torch.rand(n, generator=g) * 88
        x1 = torch.rand(n, generator=g) * (IMAGE_SIZE - side)
        y1 = torch.rand(n, generator=g) * (IMAGE_SIZE - side)
        boxes = torch.stack([x1, y1, x1 + side, y1 + side], dim=1)
        targets.append({"boxes": boxes, "labels": torch.randint(0, NUM_CLASSES, (n,), generator=g)})
    return images, targets


def timed(fn):
    c0 = time.process_time()
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000


def summary(wall, cpu, batch_size):
    mw, mc = statistics.median(wall), statistics.median(cpu)
    return {
        "wall_ms": wall,
        "cpu_ms": cpu,
        "median_wall_ms": mw,
        "median_cpu_ms": mc,
        "images_per_second": batch_size * 1000 / mw,
        "images_per_second_cpu": batch_size * 1000 / mc,
    }


def profile_train(train_step, batches, steps=3):
    """Self CPU time per op of `steps` training steps (torch.profiler), per step, largest first.

    Convolutions (forward and backward) are summed separately: they are the part of the step whose
    speed is set by the kernel library (oneDNN here, XNNPACK in the wasm backend).
    """
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for s in range(steps):
            train_step(batches[s % len(batches)])
    rows = sorted(
        ((e.key, e.self_cpu_time_total / 1000 / steps, e.count // steps) for e in prof.key_averages()),
        key=lambda r: -r[1],
    )
    conv = sum(ms for name, ms, _ in rows if "conv" in name.lower())
    return {
        "steps": steps,
        "total_self_ms_per_step": sum(ms for _, ms, _ in rows),
        "conv_self_ms_per_step": conv,
        "top": [{"op": n, "self_ms_per_step": ms, "calls_per_step": c} for n, ms, c in rows[:15]],
    }


def bench(detector: str, threads: int, runs: int, warmup: int, batch_size: int, with_profile: bool = False):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build(detector, 0.05)
    dense = build(detector, 0.0)
    dense.load_state_dict(model.state_dict())
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.03, momentum=0.9, weight_decay=1e-4)
    batches = [make_batch(batch_size, seed) for seed in range(4)]

    def train_step(batch):
        images, targets = batch
        model.train()
        losses = model(images, targets)
        total = sum(losses.values())
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(params, 35.0)
        optimizer.step()
        return float(total)

    def infer(net, batch):
        net.eval()
        with torch.no_grad():
            return sum(len(d["boxes"]) for d in net(batch[0]))

    # Untimed warm-up. The inference copies keep the initial weights, as ours do.
    for w in range(warmup):
        train_step(batches[w % len(batches)])
        infer(model, batches[w % len(batches)])
        infer(dense, batches[w % len(batches)])
    tw, tc, iw, ic, dw, dc = [], [], [], [], [], []
    found = {"published": 0, "dense": 0}
    for r in range(runs):
        batch = batches[(warmup + r) % len(batches)]
        w, c = timed(lambda: train_step(batch))
        tw.append(w)
        tc.append(c)
        out = {}
        w, c = timed(lambda: out.__setitem__("n", infer(model, batch)))
        iw.append(w)
        ic.append(c)
        found["published"] += out["n"]
        w, c = timed(lambda: out.__setitem__("n", infer(dense, batch)))
        dw.append(w)
        dc.append(c)
        found["dense"] += out["n"]
    result = {
        "detector": detector,
        "threads": threads,
        "train": summary(tw, tc, batch_size),
        "infer": summary(iw, ic, batch_size),
        "infer_dense": summary(dw, dc, batch_size),
        "detections_per_image": {k: v / (runs * batch_size) for k, v in found.items()},
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    if with_profile:
        result["train_profile"] = profile_train(train_step, batches)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", default="1,2", help="comma list of torch.set_num_threads values")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--detectors", default="retinanet,fcos")
    parser.add_argument("--out", default=None, help="also write the JSON here")
    parser.add_argument("--profile", action="store_true", help="add a torch.profiler breakdown of the training step (conv vs the rest)")
    args = parser.parse_args()
    if args.runs < 5:
        parser.error("--runs must be >= 5")
    if args.warmup < 1:
        parser.error("--warmup must be >= 1")
    threads = [int(t) for t in args.threads.split(",")]
    results = []
    for detector in args.detectors.split(","):
        for t in threads:
            r = bench(detector.strip(), t, args.runs, args.warmup, args.batch_size, args.profile)
            print(
                f"{r['detector']} threads={t}: train {r['train']['median_wall_ms']:.0f} ms (cpu {r['train']['median_cpu_ms']:.0f}), "
                f"infer {r['infer']['median_wall_ms']:.0f} ms, thr 0 {r['infer_dense']['median_wall_ms']:.0f} ms",
                file=__import__("sys").stderr,
            )
            if "train_profile" in r:
                p = r["train_profile"]
                print(
                    f"  profile: {p['total_self_ms_per_step']:.0f} ms self CPU per step, convolutions {p['conv_self_ms_per_step']:.0f} ms; top: "
                    + ", ".join(f"{o['op']} {o['self_ms_per_step']:.1f}" for o in p["top"][:8]),
                    file=__import__("sys").stderr,
                )
            results.append(r)
    report = {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "loadavg": list(os.getloadavg()),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "batch_size": args.batch_size,
        "image_size": IMAGE_SIZE,
        "runs": args.runs,
        "warmup": args.warmup,
        "results": results,
    }
    text = json.dumps(report, indent=1)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
