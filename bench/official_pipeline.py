#!/usr/bin/env python3
"""The authors' algorithm, timed on the model that `ldmground bench --export DIR` writes.

Written for ldmground (not copied from upstream): the loop of the paper's
Alg. 1 as official/sampler.py runs it, on MONAI Generative 0.2.2 and HF
transformers: per image-prompt pair, z0 = encode(x)[0] * 0.3, then at every
step of the ascending DDIM schedule a batch of 2 ([z, z] with ["", prompt]),
guidance scale 0 (only the unconditional half moves z), and every attn2
probability map of every layer and step kept in RAM, as upstream does.

Prints seconds per pair and U-Net call at the measured T, the extrapolation
to --target-T (seconds per call x the calls there), and peak memory, measured
and extrapolated (the stored maps grow linearly with the steps): peak RSS on
the CPU; on a CUDA device torch.cuda.max_memory_allocated, with the models,
the inputs and the kept maps on the device as upstream does, every U-Net call
timed between two torch.cuda.synchronize(), and PyTorch's default math
(cuDNN may use TF32, cuBLAS not), which upstream runs with.

usage: official_pipeline.py MODEL_DIR [--T 30] [--target-T 300] [--threads 2] [--pairs 1] [--device cpu|cuda[:N]]
"""
import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml


def schedule(T, n_train=1000):
    # The upstream spacing our C++ calls TrailingUpstream: 0, r, 2r, ... < n_train with r = n_train // T.
    r = n_train // T
    return list(range(0, n_train, r))


def window(T, n_steps):
    # official/eval_ldm.py:52: T//2 - 10*T//100 .. T//2 + 10*T//100
    return max(0, T // 2 - (10 * T) // 100), min(n_steps, T // 2 + (10 * T) // 100)


def alphas_cumprod(cfg):
    s = cfg["scheduler"]
    betas = torch.linspace(s["beta_start"] ** 0.5, s["beta_end"] ** 0.5, s["num_train_timesteps"],
                           dtype=torch.float32) ** 2  # scaled_linear_beta
    return torch.cumprod(1.0 - betas, dim=0)


class MapStore:
    """Every cross-attention probability map of the conditional row, kept (upstream keeps them all)."""

    def __init__(self):
        self.maps = []
        self.bytes = 0

    def add(self, probs):
        m = probs.detach().clone()
        self.maps.append(m)
        self.bytes += m.numel() * m.element_size()


def patch_cross_attention(store):
    from generative.networks.nets import diffusion_model_unet as dmu
    orig = dmu.CrossAttention._attention

    def _attention(self, query, key, value):
        if not getattr(self, "_ldmg_is_attn2", False):
            return orig(self, query, key, value)
        dtype = query.dtype
        scores = torch.baddbmm(torch.empty(query.shape[0], query.shape[1], key.shape[1], dtype=dtype,
                                           device=query.device), query, key.transpose(-1, -2),
                               beta=0, alpha=self.scale)
        probs = scores.softmax(dim=-1).to(dtype)
        store.add(probs)
        return torch.bmm(probs, value)

    dmu.CrossAttention._attention = _attention
    return dmu


def rss_peak_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("--T", type=int, default=30)
    ap.add_argument("--target-T", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pairs", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    ap.add_argument("--json", help="write the numbers here too")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    if cuda and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())

    def sync():
        if cuda:
            torch.cuda.synchronize(dev)
    d = Path(a.model_dir)
    from generative.networks.nets import AutoencoderKL, DiffusionModelUNet
    from transformers import CLIPTextModel, CLIPTokenizer

    ae_cfg = yaml.safe_load(open(d / "configs/stage1/aekl_v0.yaml"))["stage1"]["params"]
    ldm = yaml.safe_load(open(d / "configs/ldm/ldm_v0.yaml"))["ldm"]
    ae = AutoencoderKL(**ae_cfg)
    ae.load_state_dict(torch.load(d / "autoencoder.pth", map_location="cpu"))
    unet = DiffusionModelUNet(**ldm["params"])
    unet.load_state_dict(torch.load(d / "diffusion_model.pth", map_location="cpu"))
    ae.eval(), unet.eval()
    tok = CLIPTokenizer.from_pretrained(d / "tokenizer")
    te = CLIPTextModel.from_pretrained(d / "text_encoder").eval()
    ae, unet, te = ae.to(dev), unet.to(dev), te.to(dev)

    store = MapStore()
    dmu = patch_cross_attention(store)
    n_attn2 = 0
    for name, mod in unet.named_modules():
        if isinstance(mod, dmu.CrossAttention) and name.endswith("attn2"):
            mod._ldmg_is_attn2 = True
            n_attn2 += 1

    ac = alphas_cumprod(ldm).to(dev)
    ts = schedule(a.T)
    ts_target = schedule(a.target_T)
    prompts = ["Small left pleural effusion.", "Moderate cardiomegaly.", "Patchy opacity at the right base."]
    x = torch.rand(1, 1, 512, 512).to(dev)
    rss_models = rss_peak_bytes()
    if cuda:
        torch.cuda.reset_peak_memory_stats(dev)
    dev_models = torch.cuda.memory_allocated(dev) if cuda else 0
    call_times, call_cpu, pair_times = [], [], []
    with torch.no_grad():
        if cuda:  # CUDA's lazy initialisation out of the timings, as `ldmground bench`'s warm-up call
            ids = tok(["", prompts[0]], padding="max_length", max_length=77, truncation=True,
                      return_tensors="pt").input_ids.to(dev)
            z = ae.encode(x)[0] * 0.3
            unet(x=torch.cat([z, z]), timesteps=torch.tensor([ts[0]], device=dev), context=te(ids)[0])
            store.maps.clear(), setattr(store, "bytes", 0)
            sync()
            torch.cuda.reset_peak_memory_stats(dev)
        for p in range(a.pairs):
            sync()
            t0 = time.perf_counter()
            ids = tok(["", prompts[p % len(prompts)]], padding="max_length", max_length=77, truncation=True,
                      return_tensors="pt").input_ids.to(dev)
            emb = te(ids)[0]  # [2,77,1024]: "" and the prompt
            z = ae.encode(x)[0] * 0.3
            store.maps.clear(), setattr(store, "bytes", 0)
            for i, t in enumerate(ts):
                sync()
                c0, p0 = time.perf_counter(), time.process_time()
                out = unet(x=torch.cat([z, z]), timesteps=torch.tensor([t], device=dev), context=emb)
                sync()
                call_times.append(time.perf_counter() - c0)
                call_cpu.append(time.process_time() - p0)
                v = out[:1]  # guidance 0: the unconditional half
                if i + 1 < len(ts):  # DDIM inversion step, v-prediction
                    a_t, a_n = ac[t], ac[ts[i + 1]]
                    x0 = a_t.sqrt() * z - (1 - a_t).sqrt() * v
                    eps = a_t.sqrt() * v + (1 - a_t).sqrt() * z
                    z = a_n.sqrt() * x0 + (1 - a_n).sqrt() * eps
            sync()
            pair_times.append(time.perf_counter() - t0)
    rss_peak = rss_peak_bytes()
    dev_peak = torch.cuda.max_memory_allocated(dev) if cuda else 0
    per_call = float(np.median(call_times))
    per_call_cpu = float(np.median(call_cpu))
    other = float(np.mean(pair_times)) - per_call * len(ts)
    target_s = per_call * len(ts_target) + max(0.0, other)
    maps_per_step = store.bytes / len(ts)
    target_rss = rss_peak if cuda else rss_peak - store.bytes + maps_per_step * len(ts_target)
    target_dev = dev_peak - store.bytes + maps_per_step * len(ts_target) if cuda else 0
    res = {"T": a.T, "steps": len(ts), "target_T": a.target_T, "target_steps": len(ts_target),
           "threads": a.threads, "attn2_layers": n_attn2, "torch": torch.__version__, "device": str(dev),
           "seconds_per_pair": float(np.mean(pair_times)), "seconds_per_unet_call": per_call,
           "cpu_seconds_per_unet_call": per_call_cpu, "target_cpu_seconds_per_pair": per_call_cpu * len(ts_target),
           "target_seconds_per_pair": target_s, "peak_rss_bytes": rss_peak, "rss_after_load_bytes": rss_models,
           "stored_map_bytes": store.bytes, "target_peak_rss_bytes_est": target_rss}
    if cuda:
        res.update({"peak_device_bytes": dev_peak, "device_bytes_after_load": dev_models,
                    "target_peak_device_bytes_est": target_dev, "device_name": torch.cuda.get_device_name(dev),
                    "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
                    "cublas_allow_tf32": torch.backends.cuda.matmul.allow_tf32})
    where = f"{dev} ({res['device_name']})" if cuda else f"{a.threads} threads"
    print(f"authors' pipeline (torch {torch.__version__}, {where}): T={a.T} {len(ts)} calls/pair, "
          f"{res['seconds_per_pair']:.1f} s/pair, {per_call:.2f} s per batch-2 U-Net call "
          f"({per_call_cpu:.2f} s process CPU time)")
    print(f"  -> T={a.target_T}: {len(ts_target)} calls/pair, {target_s:.0f} s/pair ({target_s / 60:.1f} min), "
          f"{per_call_cpu * len(ts_target):.0f} cpu-s/pair")
    print(f"  peak RSS {rss_peak / 2**30:.2f} GiB at T={a.T} (maps {store.bytes / 2**30:.2f} GiB); "
          f"est. {target_rss / 2**30:.1f} GiB at T={a.target_T}")
    if cuda:
        print(f"  peak GPU memory {dev_peak / 2**30:.2f} GiB at T={a.T} (models {dev_models / 2**30:.2f} GiB); "
              f"est. {target_dev / 2**30:.1f} GiB at T={a.target_T}")
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
