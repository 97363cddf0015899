"""Paragraphs to embeddable chunks: one chunk per paragraph unless it is too long to embed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from askdef.types import Paragraph

if TYPE_CHECKING:
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.schema import TextNode


def make_splitter(
    chunk_size: int, chunk_overlap: int, tokenize: Callable[[str], list[str]]
) -> SentenceSplitter:
    """A sentence-aware splitter that counts the embedding model's own word pieces and cuts
    where the verifier's sentences end (``askdef.text.sentence_pieces``)."""
    from llama_index.core.node_parser import SentenceSplitter

    from askdef.text import sentence_pieces

    return SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        tokenizer=tokenize,
        chunking_tokenizer_fn=sentence_pieces,
    )


def chunk_paragraphs(paragraphs: Iterable[Paragraph], splitter: SentenceSplitter) -> list[TextNode]:
    """Chunks that keep their paragraph id; the section line is embedded with each chunk."""
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

    nodes: list[TextNode] = []
    for p in paragraphs:
        section = p.section or ""
        pieces = (
            splitter.split_text_metadata_aware(p.text, section)
            if section
            else (splitter.split_text(p.text))
        )
        for i, piece in enumerate(pieces):
            nodes.append(
                TextNode(
                    id_=f"{p.doc_id}#{p.paragraph}.{i}",
                    text=piece,
                    metadata={"doc_id": p.doc_id, "paragraph": p.paragraph, "section": section},
                    excluded_embed_metadata_keys=["doc_id", "paragraph"],
                    excluded_llm_metadata_keys=["doc_id", "paragraph"],
                    metadata_template="{value}",
                    relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=p.doc_id)},
                )
            )
    return nodes


def embed_text(node: TextNode) -> str:
    """What the embedder and BM25 see: the section line, then the chunk."""
    from llama_index.core.schema import MetadataMode

    return node.get_content(metadata_mode=MetadataMode.EMBED)
