#!/usr/bin/env python3
"""SAELens's own evaluation of the fixture SAEs, as a small JSON reference for
Tests/SAEModelTests/SAEEvaluationReferenceTests.swift. Run by hand, never in CI.

Pinned versions (the ones this file was written with):
    python 3.11, sae-lens 6.54.12, transformer-lens 3.9.0, torch 2.15.0 (the PyPI wheel, run on
    the CPU), transformers 5.24.0, safetensors, numpy

    python3 -m venv /tmp/peer-eval
    /tmp/peer-eval/bin/pip install "sae-lens==6.54.12" "transformer-lens==3.9.0"
    /tmp/peer-eval/bin/python Tests/Fixtures/generators/saelens_eval_reference.py

What it does:
- loads the bundled model, Sources/SAEModel/Resources/tiny-gelu-1l (config.json + the
  TransformerLens state dict in model.safetensors), into a HookedTransformer;
- builds the eval contexts from tokens-eval.bin (uint16, id 0 = <|endoftext|> = BOS, which
  precedes every source file): the first CONTEXTS source files of at least 128 tokens, each
  context being the file's first 128 tokens including its leading BOS. So position 0 is BOS and
  no other position holds id 0: SAELens's rule (leave out every token whose id is special) and
  SAEKit's (leave out position 0, the position training skipped) pick the same positions;
- loads saelens-standard/ and saelens-topk/ with SAELens (hook_name set to
  blocks.0.mlp.hook_post: the fixture cfg.json files carry no hook_name);
- runs sae_lens.evals.run_evals on those contexts (a stub activation store hands them out in
  batches of BATCH) with exclude_special_tokens=[0]. The tiny model has no tokenizer attached,
  so SAELens's default (exclude_special_tokens=True, the tokenizer's special ids) would
  exclude nothing; [0] is what it would pick with the fixture's tokenizer.

SAELens 6.54's conventions, read from sae_lens/evals.py (the Swift test relies on them):
- reconstruction metrics (get_sparsity_and_variance_metrics): every token whose id is in
  ignore_tokens is dropped; `mse` is the per-token squared error summed over d_in, averaged over
  tokens (SAEKit's `mse` also divides by d_in); `explained_variance` is
  1 - mean ||x - x_hat||^2 / (mean ||x||^2 - ||mean x||^2) over all kept tokens of all batches
  (ExplainedVarianceCalculator; `explained_variance_legacy` is the old per-token mean);
  `l0` the mean over kept tokens of the count of nonzero feature activations;
- downstream metrics (get_recons_loss / get_downstream_reconstruction_metrics): the hook is
  replaced by sae.decode(sae.encode(x)) only at kept positions (torch.where(mask, x_hat, x));
  zero ablation zeroes every position; the per-token CE ([b, seq-1], loss of token i+1 at
  position i) is dropped where the token at position i is ignored (mask[:, :-1]); KL(clean ||
  spliced) per position ([b, seq]) is dropped at ignored positions; each is a mean over every
  kept token of every batch; ce_loss_score = (L_zero - L_sae) / (L_zero - L_clean).
"""
import importlib.metadata
import json
import pathlib
import re
import sys

import numpy as np
import safetensors.torch
import torch
import sae_lens
import transformer_lens
from sae_lens import SAE
from sae_lens.evals import EvalConfig, run_evals
from sae_lens.training.activation_scaler import ActivationScaler
from transformer_lens import HookedTransformer, HookedTransformerConfig

CONTEXTS = 16
LENGTH = 128
BATCH = 4
BOS = 0
HOOK = "blocks.0.mlp.hook_post"

root = pathlib.Path(__file__).resolve().parents[1] / "tiny-gelu-1l"
# The model and its tokens are the bundled model's (one copy, a resource of SAEModel).
model_root = pathlib.Path(__file__).resolve().parents[3] / "Sources" / "SAEModel" / "Resources" / "tiny-gelu-1l"
out = root / "saelens-eval-reference.json"


class FixedContexts:
    """The part of ActivationsStore that run_evals uses: batches of fixed token contexts."""

    def __init__(self, tokens: torch.Tensor):
        self.tokens = tokens
        self.next = 0
        self.context_size = tokens.shape[1]
        self.store_batch_size_prompts = BATCH

    def get_batch_tokens(self, n: int) -> torch.Tensor:
        if self.next + n > self.tokens.shape[0]:
            raise RuntimeError("asked for more contexts than there are")
        batch = self.tokens[self.next:self.next + n]
        self.next += n
        return batch

    def reset_input_dataset(self) -> None:
        self.next = 0


def contexts() -> tuple[list[int], torch.Tensor]:
    ids = np.fromfile(model_root / "tokens-eval.bin", dtype="<u2").astype(np.int64)
    starts = np.flatnonzero(ids == BOS).tolist() + [len(ids)]
    chosen, offsets = [], []
    for a, b in zip(starts, starts[1:]):
        if b - a >= LENGTH:
            chosen.append(ids[a:a + LENGTH])
            offsets.append(a)
        if len(chosen) == CONTEXTS:
            break
    t = torch.tensor(np.stack(chosen))
    assert (t[:, 0] == BOS).all() and not (t[:, 1:] == BOS).any()
    return offsets, t


def model() -> HookedTransformer:
    cfg = json.loads((model_root / "config.json").read_text())
    m = HookedTransformer(HookedTransformerConfig(**cfg, device="cpu", dtype=torch.float32))
    missing, unexpected = m.load_state_dict(safetensors.torch.load_file(model_root / "model.safetensors"), strict=False)
    # Only buffers TransformerLens rebuilds itself (the causal mask, IGNORE) may be absent.
    assert not unexpected and all(k.endswith(("mask", "IGNORE")) for k in missing), (missing, unexpected)
    m.eval()
    return m


def evaluate(m: HookedTransformer, name: str, tokens: torch.Tensor) -> dict:
    sae = SAE.load_from_disk(str(root / name), device="cpu")
    sae.cfg.metadata.hook_name = HOOK
    sae.eval()
    store = FixedContexts(tokens)
    batches = tokens.shape[0] // BATCH
    config = EvalConfig(
        batch_size_prompts=BATCH, n_eval_reconstruction_batches=batches, n_eval_sparsity_variance_batches=batches,
        compute_kl=True, compute_ce_loss=True, compute_l2_norms=False, compute_sparsity_metrics=True,
        compute_variance_metrics=True, compute_featurewise_density_statistics=False,
        compute_featurewise_weight_based_metrics=False)
    metrics, _ = run_evals(sae, store, m, ActivationScaler(), config, exclude_special_tokens=[BOS])
    flat = {k: v for group in metrics.values() for k, v in group.items()}
    keys = ["mse", "explained_variance", "explained_variance_legacy", "l0", "l1",
            "ce_loss_without_sae", "ce_loss_with_sae", "ce_loss_with_ablation", "ce_loss_score",
            "kl_div_with_sae", "kl_div_with_ablation", "kl_div_score"]
    return {k: float(flat[k]) for k in keys}


def main() -> None:
    torch.manual_seed(0)
    offsets, tokens = contexts()
    m = model()
    result = {
        "generator": "Tests/Fixtures/generators/saelens_eval_reference.py",
        "versions": {"sae_lens": sae_lens.__version__, "transformer_lens": importlib.metadata.version("transformer-lens"),
                     "torch": torch.__version__, "python": sys.version.split()[0]},
        "hook": HOOK,
        "context_length": LENGTH,
        "batch_size_prompts": BATCH,
        "exclude_special_tokens": [BOS],
        "context_offsets": offsets,
        "contexts": tokens.tolist(),
        "saes": {name: evaluate(m, name, tokens) for name in ["saelens-standard", "saelens-topk"]},
    }
    text = json.dumps(result, indent=1)
    # One line per list of numbers (the contexts), so the file stays small and readable.
    text = re.sub(r"\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]", lambda g: "[" + ", ".join(g.group(1).split()).replace(",,", ",") + "]", text)
    out.write_text(text + "\n")
    print(json.dumps(result["saes"], indent=1))


if __name__ == "__main__":
    main()
