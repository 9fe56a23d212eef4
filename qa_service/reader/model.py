"""The reader network: MiniLM-L6 reading question and sentence together, with two small heads.

`answerable` (from the [CLS] vector) says whether the sentence answers the question; `span` gives every word
piece a start and an end score for the short answer. Training adapts the encoder with LoRA (`peft`), so the
repository keeps only the adapters and heads (`weights/`, ~3 MB); `load_merged` folds them into the installed
base model for export. Importing this module imports torch: only training and `prepare` do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

WEIGHTS_DIR = Path(__file__).parent / "weights"
HEADS_FILE = "heads.safetensors"
CONFIG_FILE = "reader.json"
LORA: dict[str, Any] = {
    "r": 16,
    "lora_alpha": 32,
    "lora_dropout": 0.05,
    "target_modules": ["query", "key", "value", "dense"],
    "layers_to_transform": [1, 2, 3, 4, 5],  # layer 0 stays as installed: no backward pass through it
}


class ReaderNet(nn.Module):
    """encoder -> (start logits, end logits, answerable logit) for `[CLS] question [SEP] sentence [SEP]`."""

    def __init__(self, encoder: nn.Module, hidden: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.span = nn.Linear(hidden, 2)
        self.answerable = nn.Linear(hidden, 1)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        states = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        span = self.span(states)
        outside = (token_type_ids == 0) | (attention_mask == 0)  # a short answer lies in the sentence
        start = span[..., 0].masked_fill(outside, -1e4)
        end = span[..., 1].masked_fill(outside, -1e4)
        return start, end, self.answerable(states[:, 0]).squeeze(-1)


def base_encoder(model_path: str) -> tuple[nn.Module, int]:
    from transformers import BertModel

    encoder = BertModel.from_pretrained(model_path, add_pooling_layer=False, local_files_only=True)
    return encoder, int(encoder.config.hidden_size)


def trainable(model_path: str, seed: int, lora: dict[str, Any] | None = None) -> ReaderNet:
    """The base model with fresh LoRA adapters (`LORA` unless given) and heads: what training starts from."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    encoder, hidden = base_encoder(model_path)
    encoder = get_peft_model(encoder, LoraConfig(**(lora or LORA)))
    return ReaderNet(encoder, hidden)


def resumed(model_path: str, folder: Path) -> ReaderNet:
    """Trained adapters and heads, still trainable: a further phase of training starts from them."""
    from peft import PeftModel

    encoder, hidden = base_encoder(model_path)
    net = ReaderNet(PeftModel.from_pretrained(encoder, str(folder), is_trainable=True), hidden)
    _load_heads(net, folder)
    return net


def save(net: ReaderNet, folder: Path, info: dict[str, Any]) -> None:
    """Adapters (peft's own files), heads and a description of how they were made."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    net.encoder.save_pretrained(str(folder))  # type: ignore[operator]
    heads = {f"span.{k}": v for k, v in net.span.state_dict().items()}
    heads |= {f"answerable.{k}": v for k, v in net.answerable.state_dict().items()}
    save_file({k: v.detach().contiguous() for k, v in heads.items()}, str(folder / HEADS_FILE))
    (folder / CONFIG_FILE).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")


def load_merged(model_path: str, folder: Path = WEIGHTS_DIR) -> ReaderNet:
    """The installed base with the adapters merged in and the heads loaded, in eval mode (plain torch)."""
    from peft import PeftModel

    encoder, hidden = base_encoder(model_path)
    merged = PeftModel.from_pretrained(encoder, str(folder)).merge_and_unload()
    net = ReaderNet(merged, hidden)
    _load_heads(net, folder)
    return net.eval()


def _load_heads(net: ReaderNet, folder: Path) -> None:
    from safetensors.torch import load_file

    heads = load_file(str(folder / HEADS_FILE))
    net.span.load_state_dict({k.removeprefix("span."): v for k, v in heads.items() if k.startswith("span.")})
    net.answerable.load_state_dict(
        {k.removeprefix("answerable."): v for k, v in heads.items() if k.startswith("answerable.")}
    )
