#!/usr/bin/python3
"""The torchvision twin of `hpf train` for the parity benchmark (`npm run bench:parity`).

Trains torchvision's RetinaNet or FCOS, built on the stable-gain quick network (torch_reference.py:
resnet10-mini, 32-channel FPN P3-P7, heads of 2 stacked convs), with `hpf train`'s recipe on a COCO
folder (train/ and val/, each instances.json + images), then writes the validation detections in
COCO results format. AP is computed by @hpf/eval (pycocotools' semantics), not here:

    /usr/bin/python3 packages/cli/bench/torch_twin.py --detector fcos --data runs/data/<set> \
        --steps 3000 --lr 0.03 --out runs/parity/fcos-twin [--fcos-range-scale 0.5] [--octave-base-scale 1]
        [--fcos-point-offset 0.5] [--fcos-centerness-weighted-giou] [--backbone-init torchvision]
        [--init-from <our initial weights .safetensors>] [--stop-after N]

Diagnostics (packages/fcos/README.md, "Against the twin"): `--fcos-point-offset 0.5` and
`--fcos-centerness-weighted-giou` make the FCOS loss ours; `--backbone-init torchvision` gives the
ResNet torchvision's (and our) init; `--init-from` starts from our FCOS's own initial weights;
`--stop-after N` trains the first N iterations of the --steps schedule only.

The recipe, as `hpf train` runs it: batch 8, SGD momentum 0.9, weight decay 1e-4, linear warm-up
from 0.1x over min(100, steps / 4) iterations, lr x 0.1 at 2/3 and 11/12 of the steps, gradient
clipping at global norm 35, horizontal flip with probability 0.5, images / 255 (no mean/std), one
thread (torch.set_num_threads), a seeded shuffle per epoch with the last partial batch dropped.
What differs, by construction: torchvision's initialisation and its own random stream (data order,
flips), and torchvision's losses and assigners as published (RetinaNet: IoU 0.5/0.4 with low-quality
matches, smooth-L1 -> L1 on deltas; FCOS: centre sampling 1.5, GIoU, centerness on the regression
branch). digits-det has no crowd annotations; crowd boxes, if any, are dropped from the targets.

Output folder: detections.json (COCO results), twin.json (settings, loss every 50 iterations,
seconds).
"""
import argparse
import json
import math
import os
import sys
import time

import torch
from torchvision.io import read_image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import IMAGE_SIZE, NUM_CLASSES, build, load_fcos_from_ours  # noqa: E402


def load_split(folder: str):
    with open(os.path.join(folder, "instances.json"), encoding="utf-8-sig") as f:
        coco = json.load(f)
    categories = sorted(c["id"] for c in coco["categories"])
    if len(categories) != NUM_CLASSES:
        raise SystemExit(f"{folder}/instances.json: {len(categories)} categories; the twin network has {NUM_CLASSES}")
    label_of = {cid: i for i, cid in enumerate(categories)}
    by_image = {im["id"]: [] for im in coco["images"]}
    for a in coco["annotations"]:
        if a.get("iscrowd", 0):
            continue
        x, y, w, h = a["bbox"]
        if w > 0 and h > 0:
            by_image[a["image_id"]].append((x, y, x + w, y + h, label_of[a["category_id"]]))
    images, targets, ids = [], [], []
    for im in coco["images"]:
        if im["width"] != IMAGE_SIZE or im["height"] != IMAGE_SIZE:
            raise SystemExit(f"{folder}: image {im['id']} is {im['width']}x{im['height']}; the twin takes {IMAGE_SIZE}x{IMAGE_SIZE} (digits-det quick)")
        images.append(read_image(os.path.join(folder, im["file_name"]))[:3])
        boxes = by_image[im["id"]]
        targets.append(
            {
                "boxes": torch.tensor([b[:4] for b in boxes], dtype=torch.float32).reshape(-1, 4),
                "labels": torch.tensor([b[4] for b in boxes], dtype=torch.int64),
            }
        )
        ids.append(im["id"])
    return torch.stack(images), targets, ids, categories


def lr_at(iteration: int, steps: int, base: float) -> float:
    warmup = min(100, steps // 4)
    milestones = [round(steps * 2 / 3), round(steps * 11 / 12)]
    lr = base * 0.1 ** sum(iteration >= m for m in milestones)
    if iteration < warmup:
        lr *= 1 - (1 - 0.1) * (1 - iteration / warmup)
    return lr


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--detector", required=True, choices=["retinanet", "fcos"])
    parser.add_argument("--data", required=True, help="COCO folder with train/ and val/")
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=0.03)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--octave-base-scale", type=float, default=1.0, help="RetinaNet anchor side / stride at the first scale")
    parser.add_argument("--fcos-range-scale", type=float, default=1.0, help="FCOS regress ranges x this (0.5: published / 2)")
    parser.add_argument("--fcos-centerness-weighted-giou", action="store_true", help="FCOS GIoU weighted by centerness targets (mmdetection's and ours) instead of torchvision's mean")
    parser.add_argument("--fcos-point-offset", type=float, default=0.0, help="FCOS points at (i + offset) * stride: 0 torchvision's, 0.5 ours and mmdetection's")
    parser.add_argument("--backbone-init", default="pytorch", choices=["pytorch", "torchvision"], help="ResNet conv init: nn.Conv2d's default (the parity table's twin) or torchvision's ResNet init (kaiming fan_out, as ours)")
    parser.add_argument("--init-from", default=None, help="FCOS: start from our FCOS's initial weights (a torch-layout .safetensors as saveTorchState writes)")
    parser.add_argument("--stop-after", type=int, default=None, help="train only the first N iterations of the --steps schedule (short probes), then evaluate")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.steps < 1 or args.batch_size < 1 or not args.lr > 0:
        parser.error("--steps, --batch-size must be >= 1 and --lr > 0")
    if args.stop_after is not None and not 1 <= args.stop_after <= args.steps:
        parser.error(f"--stop-after must be in [1, --steps], got {args.stop_after}")
    if args.init_from is not None and (args.detector != "fcos" or not os.path.isfile(args.init_from)):
        parser.error(f"--init-from: FCOS only, and {args.init_from} must be a file")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)

    train_images, train_targets, _, _ = load_split(os.path.join(args.data, "train"))
    val_images, _, val_ids, categories = load_split(os.path.join(args.data, "val"))
    model = build(
        args.detector,
        0.05,
        octave_base_scale=args.octave_base_scale,
        fcos_range_scale=args.fcos_range_scale,
        fcos_centerness_weighted_giou=args.fcos_centerness_weighted_giou,
        fcos_point_offset=args.fcos_point_offset,
        backbone_init=args.backbone_init,
    )
    if args.init_from is not None:
        load_fcos_from_ours(model, args.init_from)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=args.lr, momentum=0.9, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(args.seed)
    per_epoch = len(train_images) // args.batch_size
    order = []
    losses_log = []
    started = time.perf_counter()
    model.train()
    recent = []
    for it in range(args.stop_after or args.steps):
        if it % per_epoch == 0:
            order = torch.randperm(len(train_images), generator=generator).tolist()
        picks = order[(it % per_epoch) * args.batch_size : (it % per_epoch + 1) * args.batch_size]
        flips = torch.rand(len(picks), generator=generator) < 0.5
        images, targets = [], []
        for k, flip in zip(picks, flips.tolist()):
            image = train_images[k].float() / 255
            target = {"boxes": train_targets[k]["boxes"].clone(), "labels": train_targets[k]["labels"]}
            if flip:
                image = image.flip(-1)
                b = target["boxes"]
                target["boxes"] = torch.stack([IMAGE_SIZE - b[:, 2], b[:, 1], IMAGE_SIZE - b[:, 0], b[:, 3]], dim=1)
            images.append(image)
            targets.append(target)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(it, args.steps, args.lr)
        losses = model(images, targets)
        total = sum(losses.values())
        if not math.isfinite(float(total)):
            raise SystemExit(f"non-finite loss at iteration {it}: {({k: float(v) for k, v in losses.items()})}")
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(params, 35.0)
        optimizer.step()
        recent = (recent + [float(total)])[-50:]
        if it % 50 == 0 or it + 1 == (args.stop_after or args.steps):
            losses_log.append({"iteration": it, "total": float(total), "mean_total_last_50": sum(recent) / len(recent), **{k: float(v) for k, v in losses.items()}})
            print(f"iter {it + 1}/{args.steps} loss {float(total):.3f}", file=sys.stderr, flush=True)
    train_seconds = time.perf_counter() - started

    model.eval()
    detections = []
    with torch.no_grad():
        for start in range(0, len(val_images), args.batch_size):
            batch = [im.float() / 255 for im in val_images[start : start + args.batch_size]]
            for image_id, det in zip(val_ids[start : start + args.batch_size], model(batch)):
                for box, score, label in zip(det["boxes"].tolist(), det["scores"].tolist(), det["labels"].tolist()):
                    x1, y1, x2, y2 = box
                    detections.append({"image_id": image_id, "category_id": categories[label], "bbox": [x1, y1, x2 - x1, y2 - y1], "score": score})
    with open(os.path.join(args.out, "detections.json"), "w") as f:
        json.dump(detections, f)
    summary = {
        "detector": args.detector,
        "torch": torch.__version__,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "octave_base_scale": args.octave_base_scale,
        "fcos_range_scale": args.fcos_range_scale,
        "fcos_centerness_weighted_giou": args.fcos_centerness_weighted_giou,
        "fcos_point_offset": args.fcos_point_offset,
        "backbone_init": args.backbone_init,
        "init_from": args.init_from,
        "stop_after": args.stop_after,
        "threads": args.threads,
        "train_seconds": train_seconds,
        "losses": losses_log,
    }
    with open(os.path.join(args.out, "twin.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"{args.detector} twin: {args.stop_after or args.steps} iterations in {train_seconds:.0f} s, {len(detections)} validation detections", file=sys.stderr)


if __name__ == "__main__":
    main()
