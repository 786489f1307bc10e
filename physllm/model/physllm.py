"""PhysLLM assembled (paper Fig. 2, Sec. 3): frozen PhysNet cues → tokens → LLM + LoRA → waveform.

    wave ─ instance norm ─ DDS ─ patches ─┬─ (+ chrominance patches) ─┐
    features ─ VA ────────────────────────┴───────────────────────────┴─ TPG (one shared instance) ─┐
    cue texts ─ APL ───────────────────────────────────────────────────────────────────────────────┤
         inputs_embeds = [cue tokens; vision tokens; signal tokens] ─ LLM + LoRA
         vision- and signal-token hidden states [; the same tokens' LLM inputs]
             ─ head (+ the normalised wave [+ the chrominance wave]) ─ undo norm ─ (B, T)

The instance norm is Time-LLM's (`Normalize`), the patching its `PatchEmbedding` with a linear
projection. The head is ours by default (`TokenHead`, one linear map per token position);
Time-LLM's and the paper's `FlattenHead` is `head="flatten"`. Only DDS, VA, TPG, APL, the patch
embedding, the head and LoRA train; the LLM, its word embeddings included, stays frozen.

`bypass` (ours, on by default) hands the token head the LLM's input tokens beside its output
states: a residual path around the frozen LLM, like the ones around TPG and the head. Measured
with the released UBFC-rPPG PhysNet on 80 synthetic videos (`git show 6a66b69:README.md`, "Accuracy"): a linear
read-out of the pulse from the vision and signal tokens reaches validation MSE 0.75 before the
LLM and 0.99 after it; trained without the path, the model blew its tokens up to 25–30 times
the norm of a word embedding, which pushes them through the LLM's residual stream unchanged.

`chrominance` (ours, on by default) gives the model a second pulse signal that does not come
from PhysNet: POS's wave of the clip's mean skin colour (Wang et al. 2017; train/data.py
`chrominance_wave`), patch-embedded and added to the signal tokens, and added to the head's
output with a learned gain that starts at 0 (so training still starts from PhysNet's answer).
Why: the released PhysNet carries its training set's camera and faces; on video unlike them the
classic chrominance methods are often the better reader (`git show 6a66b69:README.md`, "Accuracy": POS and CHROM beat
PhysNet on most cross-domain protocols), and the model can only fall back to a signal it is given.
False = the paper's inputs; checkpoints saved before this option load with it off
(model/checkpoint.py).

`trust` (ours, on by default with `chrominance`) lets the quality of each input decide, clip by
clip, how much of PhysNet's wave and of the chrominance wave the output keeps: the head's two
gains become the learnt scalars plus a linear map (from 0) of `cues.quality.quality_features`
(each wave's band confidence, their correlation and their peaks' distance). Trained on clips in
which either input may be the corrupted one (train/augment.py, `corrupt`), the model can learn
whom to trust from the inputs rather than from the renderer.

`gate_tolerance_bpm` (ours) is the fallback per video, applied where the clips are joined
(`cues.quality.video_gate`: evaluate and `physllm predict`): PhysLLM's wave stands where its heart
rate lies within the tolerance of the trusted input's (the chrominance wave where PhysNet's rate is
the light's, the two read different rates and CHROM does not read PhysNet's, else the one with the
higher SNR), and that input's wave replaces it otherwise, unless it reads the other input's rate and
the trusted one is surer by less than `gate_margin_db` (then PhysLLM's reading breaks the tie). The
trainer calibrates both on the validation split (train/gate.py); a tolerance of None, the paper's
and older checkpoints', never falls back.
"""

import warnings
from dataclasses import asdict, dataclass, field

import torch
from peft import LoraConfig, get_peft_model
from torch import nn
from transformers import PreTrainedTokenizerBase

from physllm.errors import PhysllmError
from physllm.cues.quality import NUM_FEATURES, quality_features
from physllm.model.apl import APL, APLConfig
from physllm.model.dds import DDS, DDSConfig
from physllm.model.llm import default_lora_targets, load_llm
from physllm.model.tpg import TPG, TPGConfig
from physllm.model.va import VA, VAConfig

ADAPTER_MODULES = ("dds", "patch_embedding", "chroma_embedding", "va", "tpg", "apl", "head")
# The trainer sets these from --llm and the shards (train/trainer.py, model_config_for): no option of their own
SET_BY_TRAINER = {"derived": True}


@dataclass
class PhysLLMConfig:
    llm: str = field(default="minilm", metadata=SET_BY_TRAINER)  # offline default; paper: deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B
    llm_dtype: str | None = "float32"  # None = the checkpoint's (bf16 for the paper's LLM)
    lora_r: int = 8  # authors' code LoraConfig(r=8)
    lora_alpha: int = 16  # authors' code
    lora_dropout: float = 0.1  # authors' code
    lora_targets: list[str] | None = None  # None = by architecture (q_proj/v_proj, query/value)
    clip_frames: int = field(default=128, metadata=SET_BY_TRAINER)  # T: rPPG-Toolbox chunk length of the PhysNet checkpoints
    patch_len: int = 8  # authors' code PatchEmbedding(d_llm, 8, 4)
    stride: int = 4  # authors' code: T/4 signal tokens
    feature_channels: int = field(default=64, metadata=SET_BY_TRAINER)  # PhysNet encoder width
    feature_strides: tuple[int, ...] = field(default=(1, 2, 4, 4), metadata=SET_BY_TRAINER)  # PhysNet stages s1..s4 at T, T/2, T/4, T/4
    head_channels: int = 128  # channels the flatten head reads: Time-LLM/authors' d_ff=128
    head: str = "token"  # ours (TokenHead); "flatten" = Time-LLM's and the paper's FlattenHead
    bypass: bool = True  # ours: the token head also reads the LLM's input tokens; False = paper
    dropout: float = 0.1  # patch embedding and head dropout, Time-LLM's `dropout`
    chrominance: bool = True  # ours: POS's chrominance wave as a second signal; False = the paper's inputs
    trust: bool = True  # ours: the inputs' quality sets their gains per clip (with chrominance only); False = fixed gains
    gate_tolerance_bpm: float | None = None  # ours: per-video fallback (cues.quality.video_gate); None = never
    gate_margin_db: float = 0.0  # ours: PhysLLM's reading breaks the tie of inputs surer by less (video_gate)
    fps: float = 30.0  # the clips' frame rate, for the quality features' band (the toolbox's 30 fps chunks)
    dds: DDSConfig = field(default_factory=DDSConfig)
    va: VAConfig = field(default_factory=VAConfig)
    tpg: TPGConfig = field(default_factory=TPGConfig)
    apl: APLConfig = field(default_factory=APLConfig)
    # valid values: a setting outside them is refused with its range (physllm/config.py)
    RANGES = {"lora_r": ">= 1", "lora_alpha": ">= 1", "lora_dropout": "[0, 1)", "patch_len": ">= 1", "stride": ">= 1",
              "head_channels": ">= 1", "dropout": "[0, 1)", "gate_tolerance_bpm": ">= 0", "gate_margin_db": ">= 0",
              "fps": "> 0"}

    @property
    def weighs_inputs(self) -> bool:
        """`trust` weighs the chrominance wave against PhysNet's, so it needs one."""
        return self.trust and self.chrominance

    @property
    def num_tokens(self) -> int:
        """Signal (and vision) tokens N: Time-LLM pads the end by one stride, so T/stride."""
        return (self.clip_frames + self.stride - self.patch_len) // self.stride + 1

    @property
    def feature_lengths(self) -> tuple[int, ...]:
        return tuple(self.clip_frames // s for s in self.feature_strides)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "PhysLLMConfig":
        """Inverse of `to_dict` (a JSON round trip turns tuples into lists; they come back)."""
        subs = {"dds": DDSConfig, "va": VAConfig, "tpg": TPGConfig, "apl": APLConfig}
        try:
            kw = {k: (subs[k](**v) if k in subs else v) for k, v in d.items()}
            cfg = cls(**kw)
        except TypeError as err:
            raise PhysllmError(f"not a PhysLLM config: {err}") from err
        cfg.feature_strides = tuple(cfg.feature_strides)
        cfg.apl.cue_types = tuple(cfg.apl.cue_types)
        return cfg


class PatchEmbedding(nn.Module):
    """(B, T) → (B, N, d): replication-pad the end by one stride, unfold, project (Time-LLM)."""

    def __init__(self, patch_len: int, stride: int, width: int, dropout: float):
        super().__init__()
        self.patch_len, self.stride = patch_len, stride
        self.pad = nn.ReplicationPad1d((0, stride))
        self.proj = nn.Linear(patch_len, width)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pad(x.unsqueeze(1)).squeeze(1)  # (B, T + stride)
        patches = x.unfold(-1, self.patch_len, self.stride)  # (B, N, patch_len)
        return self.dropout(self.proj(patches))  # (B, N, d)


class ResidualHead(nn.Module):
    """A learned correction added to the instance-normalised backbone wave: (states, skip) → (B, T).

    `states` are the LLM's last hidden states at the vision and signal tokens, (B, 2N, d) in that
    order, or (B, 2N, 2d) with each token's LLM input beside them (`bypass`). The residual path
    is ours, not the paper's: the head learns a correction to the frozen PhysNet's waveform, so
    training starts from PhysNet's answer instead of from noise (the linear layer starts at
    zero, as LoRA's B does). Without it a short CPU run on a few hundred clips never reached
    PhysNet's own accuracy (docs/BENCHMARKS.md).
    """

    def __init__(self, linear: nn.Linear, dropout: float, chrominance: bool, trust: bool):
        super().__init__()
        self.linear = linear
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        self.skip_gain = nn.Parameter(torch.ones(()))
        # the chrominance wave's share, learnt from 0
        self.chroma_gain = nn.Parameter(torch.zeros(())) if chrominance else None
        # quality features → (skip, chroma) gain offsets per clip, from 0 (PhysLLMConfig.trust)
        self.trust = nn.Linear(NUM_FEATURES, 2) if trust else None
        if self.trust is not None:
            nn.init.zeros_(self.trust.weight)
            nn.init.zeros_(self.trust.bias)
        self.dropout = nn.Dropout(dropout)

    def correction(self, vision: torch.Tensor, signal: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, states: torch.Tensor, skip: torch.Tensor, chroma: torch.Tensor | None = None,
                quality: torch.Tensor | None = None) -> torch.Tensor:
        """`quality` (B, NUM_FEATURES) with `trust`: the clip's inputs' quality features."""
        vision, signal = states.chunk(2, dim=1)  # (B, N, d), or (B, N, 2d) with the bypass, each
        skip_gain, chroma_gain = self.skip_gain, self.chroma_gain
        if self.trust is not None:
            offsets = self.trust(quality.to(skip.dtype))  # (B, 2)
            skip_gain, chroma_gain = skip_gain + offsets[:, :1], chroma_gain + offsets[:, 1:]
        out = self.correction(vision, signal) + skip_gain * skip  # (B, T)
        return out if chroma_gain is None else out + chroma_gain * chroma


class FlattenHead(ResidualHead):
    """Time-LLM's and the paper's head: the signal tokens' first `channels` channels, flattened,
    one linear map to T frames (N·channels·T weights: 524k for T = 128, N = 32)."""

    def __init__(self, channels: int, num_tokens: int, out_len: int, dropout: float, chrominance: bool,
                 trust: bool):
        super().__init__(nn.Linear(channels * num_tokens, out_len), dropout, chrominance, trust)
        self.channels = channels

    def correction(self, vision: torch.Tensor, signal: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.linear(signal[..., : self.channels].flatten(1)))


class TokenHead(ResidualHead):
    """Ours: each time position's vision and signal token states → the `stride` frames that token
    stands for, by one linear map shared across positions (2·width·stride weights, width = d or
    2d with `bypass`: 3k or 6k for MiniLM).

    Measured on 336 synthetic clips (`git show 6a66b69:README.md`, "Accuracy"): the flatten head's 524k weights
    learnt nothing the validation set rewarded, while a linear probe of the same hidden states,
    position by position, correlates better with the pulse than PhysNet's own wave does; this
    head is that probe, trained end to end.
    """

    def __init__(self, width: int, num_tokens: int, stride: int, out_len: int, dropout: float, chrominance: bool,
                 trust: bool):
        if num_tokens * stride < out_len:
            raise ValueError(f"{num_tokens} tokens × stride {stride} cover fewer than {out_len} frames")
        super().__init__(nn.Linear(2 * width, stride), dropout, chrominance, trust)
        self.out_len = out_len

    def correction(self, vision: torch.Tensor, signal: torch.Tensor) -> torch.Tensor:
        per_token = self.linear(self.dropout(torch.cat([vision, signal], dim=-1)))  # (B, N, stride)
        return per_token.flatten(1)[:, : self.out_len]  # (B, T)


def build_head(cfg: "PhysLLMConfig", width: int) -> ResidualHead:
    if cfg.head == "token":
        states_width = 2 * width if cfg.bypass else width
        return TokenHead(states_width, cfg.num_tokens, cfg.stride, cfg.clip_frames, cfg.dropout, cfg.chrominance,
                         cfg.weighs_inputs)
    if cfg.head == "flatten":
        if cfg.bypass:
            raise PhysllmError("the flatten head (the paper's) reads the LLM's hidden states only: "
                               "set bypass: false with head: flatten")
        return FlattenHead(min(cfg.head_channels, width), cfg.num_tokens, cfg.clip_frames, cfg.dropout,
                           cfg.chrominance, cfg.weighs_inputs)
    raise PhysllmError(f"unknown head {cfg.head!r}: expected 'token' or 'flatten'")


def instance_stats(x: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample mean and std over time (Time-LLM `Normalize`, non-affine), kept out of the graph."""
    mean = x.mean(-1, keepdim=True).detach()  # (B, 1)
    std = (x.var(-1, keepdim=True, unbiased=False) + eps).sqrt().detach()
    return mean, std


class PhysLLM(nn.Module):
    def __init__(self, cfg: PhysLLMConfig, llm: nn.Module, tokenizer: PreTrainedTokenizerBase | None):
        super().__init__()
        self.cfg = cfg
        self.tokenizer = tokenizer
        embed = llm.get_input_embeddings()
        vocab, width = embed.weight.shape

        llm.requires_grad_(False)
        lora = LoraConfig(
            r=cfg.lora_r,
            lora_alpha=cfg.lora_alpha,
            lora_dropout=cfg.lora_dropout,
            target_modules=cfg.lora_targets or default_lora_targets(llm),
            bias="none",
        )
        with warnings.catch_warnings():
            # peft calls transformers' deprecated `is_gradient_checkpointing`: not the user's to fix
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing", category=FutureWarning)
            self.llm = get_peft_model(llm, lora)

        self.dds = DDS(cfg.dds)
        self.patch_embedding = PatchEmbedding(cfg.patch_len, cfg.stride, width, cfg.dropout)
        self.chroma_embedding = (PatchEmbedding(cfg.patch_len, cfg.stride, width, cfg.dropout)
                                 if cfg.chrominance else None)
        self.va = VA(cfg.va, cfg.feature_channels, len(cfg.feature_strides), width)
        self.tpg = TPG(cfg.tpg, width, width, vocab)
        # no cue types: the LLM reads [vision; signal] alone (the paper's "w/o APL" ablation)
        self.apl = APL(cfg.apl, width) if cfg.apl.cue_types else None
        self.head = build_head(cfg, width)

    def adapters(self) -> dict[str, nn.Module]:
        """The trainable modules besides LoRA, by name (the chrominance embedding where configured)."""
        return {name: getattr(self, name) for name in ADAPTER_MODULES if getattr(self, name) is not None}

    @property
    def word_embeddings(self) -> nn.Embedding:
        return self.llm.get_input_embeddings()

    def tokenize_cues(self, cues: dict[str, list[str]]) -> dict[str, dict[str, torch.Tensor]]:
        """{cue type: B texts} → {cue type: {input_ids, attention_mask}} (B, L ≤ max_cue_tokens)."""
        if self.tokenizer is None:
            raise PhysllmError("this PhysLLM was built without a tokenizer, so it cannot tokenize cues")
        missing = set(self.cfg.apl.cue_types) - set(cues)
        if missing:
            raise PhysllmError(f"cue texts missing for {sorted(missing)}; expected {list(self.cfg.apl.cue_types)}")
        if self.tokenizer.pad_token is None:
            if self.tokenizer.eos_token is None:
                raise PhysllmError("the LLM's tokenizer has neither a pad nor an eos token to pad cues with")
            self.tokenizer.pad_token = self.tokenizer.eos_token  # Time-LLM pads with eos
        out = {}
        for cue in self.cfg.apl.cue_types:
            enc = self.tokenizer(
                list(cues[cue]),
                padding="longest",
                truncation=True,
                max_length=self.cfg.apl.max_cue_tokens,
                return_tensors="pt",
            )
            ids, mask = enc["input_ids"], enc["attention_mask"]
            if ids.shape[1] == 0:  # every text empty: keep one (masked) pad so shapes stay valid
                ids = torch.full((ids.shape[0], 1), self.tokenizer.pad_token_id)
                mask = torch.zeros_like(ids)
            out[cue] = {"input_ids": ids, "attention_mask": mask}
        return out

    def check_inputs(self, wave: torch.Tensor, features: list[torch.Tensor], chroma: torch.Tensor | None) -> None:
        cfg = self.cfg
        if wave.ndim != 2 or wave.shape[1] != cfg.clip_frames:
            raise PhysllmError(f"wave must be (B, {cfg.clip_frames}), got {tuple(wave.shape)}")
        if cfg.chrominance and (chroma is None or chroma.shape != wave.shape):
            got = None if chroma is None else tuple(chroma.shape)
            raise PhysllmError(f"this model reads a chrominance wave {tuple(wave.shape)} beside the backbone's, got {got}")
        if len(features) != len(cfg.feature_strides):
            raise PhysllmError(f"expected {len(cfg.feature_strides)} feature maps, got {len(features)}")
        for f in features:
            if f.ndim != 3 or f.shape[1] != cfg.feature_channels:
                raise PhysllmError(f"feature maps must be (B, {cfg.feature_channels}, T_s), got {tuple(f.shape)}")

    def forward(
        self,
        wave: torch.Tensor,
        features: list[torch.Tensor],
        cue_tokens: dict[str, dict[str, torch.Tensor]],
        chroma: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Frozen PhysNet wave (B, T), its feature maps [(B, 64, T_s)], tokenized cues and, with
        `chrominance`, the chrominance wave (B, T) → (B, T)."""
        self.check_inputs(wave, features, chroma)
        words = self.word_embeddings
        mean, std = instance_stats(wave)
        x = (wave - mean) / std  # (B, T)
        z = self.dds(x)  # (B, T)
        signal = self.patch_embedding(z)  # (B, N, d)
        if self.chroma_embedding is not None:
            c_mean, c_std = instance_stats(chroma)
            chroma = (chroma - c_mean) / c_std  # (B, T)
            signal = signal + self.chroma_embedding(chroma)
        vision = self.va(features, self.cfg.num_tokens)  # (B, N, d)
        # One TPG call for both kinds: each token attends over the prototypes alone, so this
        # equals two calls, and the prototypes (a product with the whole vocabulary) are made once.
        reprogrammed = self.tpg(torch.cat([vision, signal], dim=1), words.weight)  # (B, 2N, d)
        cues = self.apl(cue_tokens, words) if self.apl is not None else reprogrammed[:, :0]  # (B, C·k, d)
        tokens = torch.cat([cues, reprogrammed], dim=1)  # (B, C·k + 2N, d): [cues; vision; signal]
        mask = torch.ones(tokens.shape[:2], dtype=torch.long, device=tokens.device)
        hidden = self.llm(inputs_embeds=tokens.to(words.weight.dtype), attention_mask=mask).last_hidden_state
        states = hidden[:, -reprogrammed.shape[1] :]  # (B, 2N, d)
        if self.cfg.bypass:
            states = torch.cat([states, reprogrammed.to(states.dtype)], dim=-1)  # (B, 2N, 2d)
        quality = quality_features(wave, chroma, self.cfg.fps) if self.cfg.weighs_inputs else None  # (B, 4)
        out = self.head(states.to(z.dtype), x, chroma, quality)  # (B, T)
        return out * std + mean

    def trainable_parameter_summary(self) -> dict[str, int]:
        """Parameter counts: each adapter module, LoRA, all trainable, and the frozen LLM."""
        summary = {name: sum(p.numel() for p in module.parameters()) for name, module in self.adapters().items()}
        summary["adapters"] = sum(summary.values())
        summary["lora"] = sum(p.numel() for n, p in self.llm.named_parameters() if "lora_" in n)
        summary["trainable"] = sum(p.numel() for p in self.parameters() if p.requires_grad)
        summary["frozen"] = sum(p.numel() for p in self.parameters() if not p.requires_grad)
        return summary


def build_physllm(cfg: PhysLLMConfig) -> PhysLLM:
    """The one entry point: load the frozen LLM named in cfg, wrap it with LoRA, add the adapters."""
    llm, tokenizer = load_llm(cfg.llm, dtype=cfg.llm_dtype)
    return PhysLLM(cfg, llm, tokenizer)
