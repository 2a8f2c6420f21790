"""The training loops' pieces: progress lines, the learning-rate schedule, the reasoner's teacher-forced forward and
next-token loss, its hidden states as painter conditions, and the painter's rectified-flow loss.
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F

from tools.rgvlm.model import Painter, Reasoner
from tools.shapes.data import lm_batch
from tools.shapes.painter_cache import condition_pass, image_pass


def start(ap, stage: str, part: bool = False):
    """A stage's command line parsed, torch's threads (--threads) and seed (0) set, and (args, log) with the arguments
    logged; `part`: the log's label is `stage-<--part>`."""
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    log = Logger(f"{stage}-{args.part}" if part else stage)
    log(f"args {vars(args)}")
    return args, log


def optimise(opt, loss, clip=None) -> None:
    """One optimiser step on `loss`; with `clip` (parameters), their gradients clipped to norm 1 first."""
    opt.zero_grad()
    loss.backward()
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(clip, 1.0)
    opt.step()


def use_device(name: str) -> torch.device:
    """--device: "cpu" (the default: nothing changes), or "cuda", where tensors the models and the training loops
    create follow torch's default device (torch >= 2.0; the loops move what comes from numpy themselves). Setup and
    the accuracy checks stay on the CPU: call with "cpu" to come back."""
    dev = torch.device(name)
    if hasattr(torch, "set_default_device"):
        torch.set_default_device(dev)
    elif dev.type != "cpu":
        raise SystemExit(f"--device {name} needs torch >= 2.0 (this is {torch.__version__})")
    return dev


class Logger:
    def __init__(self, stage: str):
        self.t0 = time.time()
        self.stage = stage

    def __call__(self, msg: str) -> None:
        print(f"[{self.stage} {time.time() - self.t0:7.0f}s] {msg}", flush=True)


def lr_at(step: int, total: int, base: float, warmup: int = 100) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup)))))


def reasoner_forward(reasoner: Reasoner, ids, am, pv=None):
    """Teacher-forced forward of a right-padded batch -> logits [B, L, V], last hidden [B, L, H]."""
    c = reasoner.c
    emb = reasoner.embed(ids, pv)
    B, L = ids.shape
    kv = (B, c.num_key_value_heads, 0, c.head_dim)
    past = [torch.zeros(kv, device=ids.device) for _ in range(2 * c.num_hidden_layers)]
    pos = torch.arange(L, device=ids.device).unsqueeze(0).expand(B, L)
    logits, _, h = reasoner.lm(emb, am, pos, past)
    return logits, h


def lm_loss(logits, ids, loss_mask):
    """Next-token cross entropy on the target positions (token t predicted from position t-1)."""
    lg = logits[:, :-1]
    tgt = ids[:, 1:]
    m = loss_mask[:, 1:]
    ce = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), tgt.reshape(-1), reduction="none").view_as(m)
    return (ce * m).sum() / m.sum().clamp(min=1)


@torch.no_grad()
def teacher_forced_conditions(reasoner: Reasoner, seqs: list[list[int]], pv=None) -> list[torch.Tensor]:
    """Hidden states of every position except the last token (a stop token is never fed back); pv: the pixel values
    of the sequences' images (edit tasks), one per sequence."""
    ids, am, _ = lm_batch([(s, 0) for s in seqs])
    _, h = reasoner_forward(reasoner, ids, am, pv)
    return [h[b, : len(s) - 1].clone() for b, s in enumerate(seqs)]


def flow_loss(painter: Painter, cond, lens, x1, rep: int, gen: torch.Generator):
    """Rectified flow: x_t = t x1 + (1 - t) x0, v = x1 - x0, t ~ logit-normal(0, 1)."""
    B = x1.shape[0]
    x0 = torch.randn(x1.shape, generator=gen, device=x1.device)
    t = torch.sigmoid(torch.randn(B, generator=gen, device=x1.device))
    xt = t.view(B, 1, 1, 1) * x1 + (1 - t.view(B, 1, 1, 1)) * x0
    v = image_pass(painter, condition_pass(painter, cond, lens), lens, xt, t, rep)
    return F.mse_loss(v, x1 - x0)
