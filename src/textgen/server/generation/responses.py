"""Generation responses of each family from screened candidates: filters and feedback for
text and messages, PromptFeedback and finish_reason SAFETY for content (with log
probabilities when the engine gave them, and token counts by modality). Citation metadata
the engine gave a candidate is copied to its completion (text) or candidate (content); the
tokens an engine spent thinking are counted in usage_metadata.thoughts_token_count and the
total."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.protobuf.message import Message

from textgen._kept import Kept
from textgen.server.engine import GeneratedCandidate
from textgen.server.generation.resolution import ResolvedModel
from textgen.server.generation.safety import Verdict
from textgen.server.generation.screened import SAFETY, ScreenedCandidate
from textgen.v1 import content_pb2, generation_pb2, model_service_pb2, safety_pb2

ContentFilter = safety_pb2.ContentFilter
PromptFeedback = model_service_pb2.GenerateContentResponse.PromptFeedback
TEXT = content_pb2.TEXT  # the Modality of every token this server counts


def content_filter(message: str) -> safety_pb2.ContentFilter:
    return ContentFilter(reason=ContentFilter.SAFETY, message=message)


# The `safety_ratings` field of a message type holding a verdict's ratings, encoded: most
# texts get one of a few verdicts again and again (a policy hands out the same verdict for
# the same ratings), so each is written once and its bytes merged from then on. Keyed by the
# verdict's id, which is cheaper than hashing its ratings; the verdict is held so that its id
# is not reused while the entry lives.
_ENCODED: Kept[tuple[type[Message], int], tuple[Verdict, bytes]] = Kept(512)


def add_ratings(message: Message, verdict: Verdict) -> None:
    """Append the verdict's ratings to `message.safety_ratings` as SafetyRating messages,
    `blocked` set on the blocking ones."""
    key = (type(message), id(verdict))
    known = _ENCODED.get(key)
    if known is None or known[0] is not verdict:
        holder: Any = type(message)()
        blocking = {block.rating for block in verdict.blocks}
        for rating in verdict.ratings:
            holder.safety_ratings.add(
                category=rating.category,
                probability=rating.probability,
                blocked=rating in blocking,
            )
        known = _ENCODED.keep(key, (verdict, holder.SerializeToString()))
    message.MergeFromString(known[1])


def _add_feedback(response: model_service_pb2.GenerateTextResponse, verdict: Verdict) -> None:
    """A SafetyFeedback for each rating of the verdict that blocks, with its setting."""
    for block in verdict.blocks:
        rating, threshold = block
        response.safety_feedback.add(
            rating=safety_pb2.SafetyRating(
                category=rating.category, probability=rating.probability, blocked=True
            ),
            setting=safety_pb2.SafetySetting(category=rating.category, threshold=threshold),
        )


def text_response(
    prompt: Verdict, items: Sequence[ScreenedCandidate]
) -> model_service_pb2.GenerateTextResponse:
    """Unblocked candidates; a filter and the feedback for the prompt or each blocked one."""
    response = model_service_pb2.GenerateTextResponse()
    if prompt.blocked:
        response.filters.append(content_filter("The prompt was blocked for safety."))
        _add_feedback(response, prompt)
    for item in items:
        if item.verdict.blocked:
            response.filters.append(
                content_filter(f"Candidate {item.index} was blocked for safety.")
            )
            _add_feedback(response, item.verdict)
        else:
            # Built in place: cheaper than building a message and copying it in.
            completion = response.candidates.add(output=item.candidate.text())
            add_ratings(completion, item.verdict)
            if item.candidate.logprobs_result is not None:  # only when the request asked
                completion.logprobs_result.CopyFrom(item.candidate.logprobs_result)
            if item.candidate.avg_logprobs is not None:
                completion.avg_logprobs = item.candidate.avg_logprobs
            if item.candidate.citation_metadata is not None:  # only when the engine cites
                completion.citation_metadata.CopyFrom(item.candidate.citation_metadata)
    return response


def content_response(
    model: ResolvedModel,
    prompt: Verdict,
    items: Sequence[ScreenedCandidate],
    prompt_tokens: int,
) -> model_service_pb2.GenerateContentResponse:
    """Candidates in content form; a blocked one keeps only finish_reason SAFETY. A blocked
    prompt gives no candidates and a PromptFeedback."""
    response = model_service_pb2.GenerateContentResponse(model_version=model.base.name)
    if prompt.blocked:
        response.prompt_feedback.block_reason = PromptFeedback.SAFETY
        add_ratings(response.prompt_feedback, prompt)
    for item in items:
        blocked = item.verdict.blocked
        candidate = response.candidates.add(
            index=item.index,
            finish_reason=SAFETY if blocked else item.candidate.finish_reason,
            token_count=item.candidate.token_count,
        )
        add_ratings(candidate, item.verdict)
        if not blocked:
            candidate.content.role = "model"
            candidate.content.parts.extend(item.candidate.parts)
            if item.candidate.logprobs_result is not None:  # only when asked for
                _copy_logprobs(candidate, item.candidate)
            if item.candidate.citation_metadata is not None:  # only when the engine cites
                candidate.citation_metadata.CopyFrom(item.candidate.citation_metadata)
    produced = sum(item.candidate.token_count for item in items)
    thoughts = sum(item.candidate.thoughts_token_count for item in items)
    usage = response.usage_metadata
    usage.prompt_token_count = prompt_tokens
    usage.candidates_token_count = produced
    usage.total_token_count = prompt_tokens + produced + thoughts
    if thoughts:
        usage.thoughts_token_count = thoughts
    # Every token is text: one entry each, equal to the counts above.
    usage.prompt_tokens_details.add(modality=TEXT, token_count=prompt_tokens)
    usage.candidates_tokens_details.add(modality=TEXT, token_count=produced)
    return response


def _copy_logprobs(candidate: generation_pb2.Candidate, generated: GeneratedCandidate) -> None:
    if generated.logprobs_result is not None:
        candidate.logprobs_result.CopyFrom(generated.logprobs_result)
    if generated.avg_logprobs is not None:
        candidate.avg_logprobs = generated.avg_logprobs
