#!/usr/bin/env python3
"""Writes the seed corpora in Fuzz/Corpus/<target>/ (standard library only, deterministic).

Small hand-made files of each format (a few KB each), some cut from the bundled model
(Sources/SAEModel/Resources/tiny-gelu-1l) and the test fixtures in Tests/Fixtures/tiny-gelu-1l,
some malformed on purpose. Multi-file targets take the
layout of Fuzz/Sources/SAEFuzzTargets/InputParts.swift: 2-byte little-endian length, part,
..., last part. Run from anywhere: python3 Fuzz/make-seeds.py
"""
import json
import os
import shutil
import struct

ROOT = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(ROOT, "..", "Tests", "Fixtures", "tiny-gelu-1l")
# The model's own files (config.json, tokenizer.json, tokens-*.bin) are the bundled model's.
BUNDLED = os.path.join(ROOT, "..", "Sources", "SAEModel", "Resources", "tiny-gelu-1l")
CORPUS = os.path.join(ROOT, "Corpus")

SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
         "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1}
PACK = {"F64": "d", "F32": "f", "F16": "e", "I64": "q", "I32": "i", "I16": "h", "I8": "b",
        "U64": "Q", "U32": "I", "U16": "H", "U8": "B", "BOOL": "?"}


def count(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def tensor_bytes(dtype, shape, values):
    if dtype == "BF16":
        return b"".join(struct.pack("<f", v)[2:] for v in values)
    return struct.pack("<%d%s" % (len(values), PACK[dtype]), *values)


def safetensors(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, values)."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, values in tensors:
        raw = tensor_bytes(dtype, shape, values)
        assert len(raw) == SIZES[dtype] * count(shape)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def npy(descr, shape, raw, version=1):
    shape_text = "(%d,)" % shape[0] if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"
    return npy_dict("{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text), raw, version)


def npy_dict(text, raw, version=1):
    header = text.encode()
    prefix = 10 if version == 1 else 12
    total = (prefix + len(header) + 1 + 63) // 64 * 64
    header += b" " * (total - prefix - len(header) - 1) + b"\n"
    length = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + length + header + raw


def parts(*items):
    """All but the last length-prefixed."""
    out = b""
    for item in items[:-1]:
        out += struct.pack("<H", len(item)) + item
    return out + items[-1]


def ramp(n, scale=0.25, offset=-1.0):
    return [offset + scale * ((7 * i) % 11) for i in range(n)]


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    assert len(data) <= 8192, (target, name, len(data))
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def fixture(*path):
    bundled = os.path.join(BUNDLED, *path)
    with open(bundled if os.path.exists(bundled) else os.path.join(FIXTURES, *path), "rb") as f:
        return f.read()


def main():
    if os.path.isdir(CORPUS):
        shutil.rmtree(CORPUS)

    # safetensors
    write("safetensors", "f32-2x3", safetensors([("w", "F32", [2, 3], ramp(6))]))
    write("safetensors", "many-dtypes", safetensors([
        ("a", "F16", [2, 2], ramp(4)), ("b", "BF16", [3], ramp(3)), ("c", "F64", [1, 2], ramp(2)),
        ("d", "I64", [2], [-5, 1 << 40]), ("e", "U8", [3], [0, 7, 255]), ("f", "BOOL", [2], [True, False]),
        ("g", "I32", [], [-3]), ("h", "U16", [0], []), ("i", "U64", [1], [(1 << 64) - 1]),
        ("j", "I16", [1, 1, 2], [-1, 1]), ("k", "I8", [1], [-128]), ("l", "U32", [1], [4000000000]),
    ], metadata={"format": "pt", "note": "seed"}))
    write("safetensors", "empty", safetensors([]))
    write("safetensors", "bad-overlap", b"\x3c\x00\x00\x00\x00\x00\x00\x00"
          + b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}'[:60]
          + b"\x00" * 4)

    # npy
    write("npy", "f4-2x3", npy("<f4", [2, 3], struct.pack("<6f", *ramp(6))))
    write("npy", "f8-v3", npy("<f8", [2], struct.pack("<2d", 1.25, -2), version=3))
    write("npy", "i8-v2", npy("<i8", [2], struct.pack("<2q", 1, 2), version=2))
    write("npy", "f2-scalar", npy("<f2", [], struct.pack("<e", 1.5)))
    write("npy", "u1", npy("|u1", [3], bytes([0, 128, 255])))
    write("npy", "b1", npy("|b1", [2, 1], bytes([1, 0])))
    write("npy", "u4-py2-long", npy_dict("{'shape': (1L, 2L), 'fortran_order': False, \"descr\": '<u4'}", struct.pack("<2I", 1, 4294967295)))
    write("npy", "structured", npy_dict("{'descr': [('a', '<f4'), ('b', '<f4')], 'fortran_order': False, 'shape': (1,), }", b"\x00" * 8))
    write("npy", "huge-shape", npy("<f4", [4611686018427387904], b"\x00" * 8))

    # strict JSON
    write("json", "cfg-topk", fixture("saelens-topk", "cfg.json"))
    write("json", "config", fixture("config.json"))
    write("json", "values", '{"a": [1, -0, 2.5e-3, 1E+2, 9223372036854775807, 9223372036854775808, -1.0e400],'
          ' "s": "esc \\" \\\\ \\/ \\b\\f\\n\\r\\t \\u00e9 \\ud83d\\ude00 \u65e5", "t": true, "f": false, "n": null,'
          ' "o": {"": {}, "x": [[], [{}]]}, "a": 1}'.encode())
    write("json", "bad", b'{"a": [1, 2,], "b": 01, "c": "\\ud800"}')

    # tokenizer.json: the fixture's pipeline, its byte-level vocabulary and first merges
    tok = json.loads(fixture("tokenizer.json"))
    vocab = tok["model"]["vocab"]
    small = {t: i for t, i in vocab.items() if len(t) == 1}
    merges = []
    for m in tok["model"]["merges"]:
        a, b = m.split(" ") if isinstance(m, str) else m
        if a in small and b in small:
            merges.append(m)
            small[a + b] = vocab[a + b]
        if len(merges) == 24:
            break
    tok["model"]["vocab"] = small
    tok["model"]["merges"] = merges
    write("tokenizer", "fixture-small", json.dumps(tok, ensure_ascii=False).encode())
    pairs = dict(tok)
    pairs["model"] = dict(tok["model"], merges=[m.split(" ") if isinstance(m, str) else m for m in merges[:12]])
    pairs["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [{"type": "ByteLevel", "add_prefix_space": True, "use_regex": False}]}
    pairs["added_tokens"] = tok["added_tokens"] + [{"id": 4095, "content": "<pad>", "lstrip": False, "rstrip": False, "single_word": False}]
    pairs["model"]["unk_token"] = "!"
    pairs["model"]["fuse_unk"] = True
    write("tokenizer", "pairs-sequence", json.dumps(pairs, ensure_ascii=False).encode())

    # token files: mode, context length, vocabulary size, BOS (see FuzzTargets.tokens)
    stream = fixture("tokens-eval.bin")[:256]
    write("tokens", "u16-bin", bytes([0, 8, 0, 0]) + stream)
    write("tokens", "u32-bin-vocab", bytes([2, 5, 200, 0x80]) + struct.pack("<16I", *range(0, 160, 10)))
    write("tokens", "u2-npy", bytes([1, 4, 0, 0]) + npy("<u2", [2, 8], struct.pack("<16H", *([0] + list(range(1, 16))))))
    write("tokens", "i8-npy", bytes([5, 3, 50, 7]) + npy("<i8", [9], struct.pack("<9q", 7, 1, 2, 7, 3, 4, 5, 6, -1)))
    write("tokens", "i4-npy-bad", bytes([1, 2, 0, 0]) + npy("<i4", [3], struct.pack("<3i", 1, -2, 3)))

    # SAELens folders: cfg.json, activation_scaler.json (empty: none), weights
    def sae(arch, d_in=2, d_sae=3, extra=None, meta=None, threshold="threshold", dtype="F32"):
        cfg = {"architecture": arch, "d_in": d_in, "d_sae": d_sae, "dtype": "float32", "apply_b_dec_to_input": True,
               "normalize_activations": "none", "device": "cpu",
               "metadata": dict({"hook_name": "blocks.0.mlp.hook_post", "context_size": 8, "prepend_bos": True}, **(meta or {}))}
        cfg.update(extra or {})
        tensors = [("W_enc", dtype, [d_in, d_sae], ramp(d_in * d_sae)), ("b_enc", dtype, [d_sae], ramp(d_sae, 0.1)),
                   ("W_dec", dtype, [d_sae, d_in], ramp(d_sae * d_in, 0.3)), ("b_dec", dtype, [d_in], ramp(d_in, 0.2))]
        if threshold == "threshold":
            tensors.append(("threshold", dtype, [d_sae], [0.05] * d_sae))
        elif threshold == "topk_threshold":
            tensors.append(("topk_threshold", dtype, [], [0.05]))
        return json.dumps(cfg).encode(), safetensors(tensors)

    cfg, w = sae("standard", threshold=None)
    write("saelens", "standard", parts(cfg, b"", w))
    cfg, w = sae("topk", extra={"k": 2, "rescale_acts_by_decoder_norm": True}, threshold=None, dtype="BF16")
    write("saelens", "topk-bf16", parts(cfg, b"", w))
    cfg, w = sae("jumprelu", meta={"training_architecture": "batchtopk", "training_architecture_details": {"k": 2}}, dtype="F16")
    write("saelens", "batchtopk-as-jumprelu", parts(cfg, b"", w))
    cfg, w = sae("batchtopk", extra={"k": 1, "normalize_activations": "expected_average_only_in"}, threshold="topk_threshold")
    write("saelens", "batchtopk-scaler", parts(cfg, b'{"scaling_factor": 2.5}', w))
    cfg, w = sae("standard", extra={"normalize_activations": "expected_average_only_in", "norm_scaling_factor": 0.5}, threshold=None)
    write("saelens", "standard-norm-factor", parts(cfg, b"", w))
    write("saelens", "fixture-cfg-only", parts(fixture("saelens-topk", "cfg.json"), b"", b""))

    # TransformerLens folders: config.json, then model.safetensors (empty: config only)
    write("transformer-config", "fixture-config", parts(fixture("config.json"), b""))
    for norm in ["LN", "LNPre"]:
        d_model, n_heads, d_head, d_mlp, d_vocab, n_ctx = 4, 2, 2, 8, 5, 3
        config = {"n_layers": 1, "d_model": d_model, "d_head": d_head, "n_heads": n_heads, "d_mlp": d_mlp,
                  "d_vocab": d_vocab, "n_ctx": n_ctx, "act_fn": "gelu" if norm == "LN" else "gelu_new",
                  "normalization_type": norm, "eps": 1e-5}
        shapes = [("embed.W_E", [d_vocab, d_model]), ("pos_embed.W_pos", [n_ctx, d_model])]
        p = "blocks.0."
        if norm == "LN":
            shapes += [(p + "ln1.w", [d_model]), (p + "ln1.b", [d_model])]
        for m in "QKV":
            shapes += [(p + "attn.W_" + m, [n_heads, d_model, d_head]), (p + "attn.b_" + m, [n_heads, d_head])]
        shapes += [(p + "attn.W_O", [n_heads, d_head, d_model]), (p + "attn.b_O", [d_model])]
        if norm == "LN":
            shapes += [(p + "ln2.w", [d_model]), (p + "ln2.b", [d_model])]
        shapes += [(p + "mlp.W_in", [d_model, d_mlp]), (p + "mlp.b_in", [d_mlp]),
                   (p + "mlp.W_out", [d_mlp, d_model]), (p + "mlp.b_out", [d_model])]
        if norm == "LN":
            shapes += [("ln_final.w", [d_model]), ("ln_final.b", [d_model])]
        shapes += [("unembed.W_U", [d_model, d_vocab]), ("unembed.b_U", [d_vocab])]
        weights = safetensors([(n, "F32", s, ramp(count(s), 0.1, -0.5)) for n, s in shapes])
        write("transformer-config", "tiny-" + norm, parts(json.dumps(config).encode(), weights))


if __name__ == "__main__":
    main()
