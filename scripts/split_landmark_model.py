#!/usr/bin/env python3
"""Splits a BlazePose landmark model (ONNX) into its body and its segmentation head.

    python3 scripts/split_landmark_model.py WHOLE.onnx OUT.onnx

writes OUT.onnx (the landmark model without the segmentation head: `Identity`, `Identity_1`,
`Identity_3`, `Identity_4`, plus the feature maps the head reads, as outputs `seg_features_0`,
`seg_features_1`, ...) and OUT.seg.onnx (the head alone: inputs `seg_features_*`, output
`Identity_2`, the segmentation logits). Nothing is recomputed or approximated: the two files hold
the whole model's nodes and weights, cut where the head's own nodes start, so the pair gives the
same numbers as the whole model.

The head's inputs are given free height and width, and its last node (a reshape of the logits
to [1,256,256,1]) is dropped: its output is the convolution's [1,1,H,W], the same values in the
same order. The head is fully convolutional, so formcheck runs it on a window of the feature
maps, the part of the crop the back outline reads.

Why: ONNX Runtime runs every node of a model whatever outputs are asked for, and the head is half
of the full model's time (its last stage works at 256x256). formcheck reads the back's outline
from the segmentation at most `--outline-hz` times a second, so split, the head runs only then.
formcheck loads either form: a whole model (output `Identity_2`), or a body with OUT.seg.onnx
beside it. Needs `pip install onnx`.
"""
import sys

import onnx
import onnx.utils

SEG_OUTPUT = "Identity_2"


def ancestors(graph, tensor):
    """Names of the nodes `tensor` depends on."""
    producer = {out: node for node in graph.node for out in node.output}
    seen, stack = set(), [tensor]
    while stack:
        node = producer.get(stack.pop())
        if node is not None and node.name not in seen:
            seen.add(node.name)
            stack.extend(node.input)
    return seen


def rename(model, names):
    """Renames tensors everywhere they appear in `model`'s graph."""
    g = model.graph
    for node in g.node:
        node.input[:] = [names.get(n, n) for n in node.input]
        node.output[:] = [names.get(n, n) for n in node.output]
    for value in list(g.input) + list(g.output) + list(g.value_info):
        value.name = names.get(value.name, value.name)


def free_spatial_size(head):
    """Lets the head run on any window: free H, W on its inputs and output, no final reshape."""
    g = head.graph
    for k, value in enumerate(g.input):
        dims = value.type.tensor_type.shape.dim
        for d, name in ((dims[2], f"h{k}"), (dims[3], f"w{k}")):
            d.ClearField("dim_value")
            d.dim_param = name
    out = g.output[0]
    last = [n for n in g.node if out.name in n.output]
    if last and last[0].op_type == "Reshape":
        reshape = last[0]
        g.node.remove(reshape)
        for node in g.node:
            node.output[:] = [out.name if o == reshape.input[0] else o for o in node.output]
        used = {i for n in g.node for i in n.input}
        for init in [i for i in g.initializer if i.name not in used]:
            g.initializer.remove(init)
    shape = out.type.tensor_type.shape
    del shape.dim[:]
    for d in (1, 1, "H", "W"):
        dim = shape.dim.add()
        if isinstance(d, int):
            dim.dim_value = d
        else:
            dim.dim_param = d
    # Shapes recorded for the inner tensors are the whole crop's: drop them.
    del g.value_info[:]


def main(whole_path, out_path):
    whole = onnx.load(whole_path)
    g = whole.graph
    outputs = [o.name for o in g.output]
    if SEG_OUTPUT not in outputs:
        sys.exit(f"{whole_path}: no output {SEG_OUTPUT} (already split?)")
    head = ancestors(g, SEG_OUTPUT)
    body = set().union(*(ancestors(g, o) for o in outputs if o != SEG_OUTPUT))
    head_only = [n for n in g.node if n.name in head and n.name not in body]
    produced_in_head = {out for n in head_only for out in n.output}
    initializers = {i.name for i in g.initializer}
    # The head's inputs: tensors its own nodes read that the body computes.
    features = []
    for node in head_only:
        for name in node.input:
            if name and name not in produced_in_head and name not in initializers and name not in features:
                features.append(name)
    body_outputs = [o for o in outputs if o != SEG_OUTPUT]
    seg_path = out_path[: -len(".onnx")] + ".seg.onnx" if out_path.endswith(".onnx") else out_path + ".seg.onnx"
    input_name = g.input[0].name
    onnx.utils.extract_model(whole_path, out_path, [input_name], body_outputs + features)
    onnx.utils.extract_model(whole_path, seg_path, features, [SEG_OUTPUT])
    names = {f: f"seg_features_{i}" for i, f in enumerate(features)}
    for path in (out_path, seg_path):
        m = onnx.load(path)
        rename(m, names)
        if path == seg_path:
            free_spatial_size(m)
        onnx.checker.check_model(m)
        onnx.save(m, path)
    print(f"{out_path}: {len(g.node) - len(head_only)} nodes; {seg_path}: {len(head_only)} nodes, "
          f"inputs {list(names.values())}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
