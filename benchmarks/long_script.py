#!/usr/bin/env python3
"""Write a synthetic long training script: about 2,000 lines, one ``main()`` of about 1,500.

The most common shape of real training code is one script with a huge ``main``: argument
parsing, a model, an optimizer, and a loop with gradient clipping, norms and logging. A linter
whose cost grows faster than the code shows it here first. The text is deterministic (no
randomness), so runs compare.

    python benchmarks/long_script.py out.py [--lines 2000]
"""

from __future__ import annotations

import argparse

HEADER = '''"""Train a small transformer language model (synthetic benchmark script)."""

import argparse
import math
import os
import time

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, width: int, heads: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class LanguageModel(nn.Module):
    def __init__(self, vocab: int, width: int, depth: int, heads: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(depth))
        self.head = nn.Linear(width, vocab, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x)
        return self.head(x)


def grad_norm_by_hand(model: nn.Module) -> float:
    total = 0.0
    for p in model.parameters():
        if p.grad is not None:
            total += p.grad.norm().item() ** 2
    return math.sqrt(total)


def move_batch(batch, device="cpu"):
    return [t.to(device) for t in batch]

'''

ARGUMENT = '    parser.add_argument("--option-{i}", type=float, default={value}, help="option {i}")\n'

STEP_BLOCK = '''
        # ---- phase {i}: forward, backward, clip, log ----
        tokens_{i} = torch.randint(0, args.vocab, (args.batch, args.length))
        logits_{i} = model(tokens_{i})
        loss_{i} = F.cross_entropy(logits_{i}.flatten(0, 1), tokens_{i}.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss_{i}.backward()
        if args.clip > 0:
            pre_clip_{i} = torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        else:
            pre_clip_{i} = torch.zeros(())
        norms_{i} = [p.grad.norm() for p in model.parameters() if p.grad is not None]
        total_{i} = torch.stack(norms_{i}).pow(2).sum().sqrt()
        optimizer.step()
        scheduler.step()
        if step % args.log_every == 0:
            elapsed = time.time() - start
            history.append({{"step": step, "loss": loss_{i}.item(), "grad_norm": total_{i}.item(), "pre_clip": float(pre_clip_{i})}})
            print(f"step {{step}} phase {i} loss {{loss_{i}.item():.4f}} grad {{total_{i}.item():.3f}} {{elapsed:.1f}}s")
        if loss_{i}.item() > 100.0:
            print("loss exploded in phase {i}")
            break
'''

FOOTER = '''
    if dist.is_initialized():
        dist.destroy_process_group()
    torch.save(model.state_dict(), os.path.join(args.out, "model.pt"))
    return history


if __name__ == "__main__":
    main()
'''


def long_script(lines: int = 2000) -> str:
    """The script's text, close to ``lines`` lines long."""
    parts = [HEADER, "\ndef main():\n", "    parser = argparse.ArgumentParser()\n"]
    for name, value in (("vocab", 512), ("batch", 8), ("length", 64), ("log-every", 10)):
        parts.append(f'    parser.add_argument("--{name}", type=int, default={value})\n')
    parts.append('    parser.add_argument("--clip", type=float, default=1.0)\n')
    parts.append('    parser.add_argument("--out", default=".")\n')
    for index in range(60):
        parts.append(ARGUMENT.format(i=index, value=round(0.001 * (index + 1), 4)))
    parts.append(
        "    args = parser.parse_args()\n"
        "    model = LanguageModel(args.vocab, 64, 2, 4)\n"
        "    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)\n"
        "    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 100)\n"
        "    history = []\n"
        "    start = time.time()\n"
        "    for step in range(10):\n"
    )
    body = "".join(parts)
    index = 0
    blocks = []
    budget = lines - body.count("\n") - HEADER.count("\n") // 10 - FOOTER.count("\n")
    block_lines = STEP_BLOCK.count("\n")
    while (index + 1) * block_lines <= budget:
        blocks.append(STEP_BLOCK.format(i=index))
        index += 1
    return body + "".join(blocks) + FOOTER


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--lines", type=int, default=2000)
    options = parser.parse_args()
    text = long_script(options.lines)
    with open(options.out, "w", encoding="utf-8") as stream:
        stream.write(text)
    print(f"{options.out}: {text.count(chr(10))} lines")


if __name__ == "__main__":
    main()
