"""YOUR AGENT GOES HERE.

`respond(turn)` is called once per user message, as its own asyncio task.
Stream the answer with `await turn.text(...)`; return when done (the `end`
frame is sent for you). Raise to fail the turn. When the user cancels, the
task is cancelled (asyncio.CancelledError at your next `await`); let it
propagate. `chat_closed(chat_id, reason)` tells you to forget a conversation.

The demo below stands in for a model so the example runs without an API key:
it echoes word by word, and on "report" it uses a tool, writes a file into
the workspace and sends it; on "clean up" it asks for confirmation first.
Replace `demo_model` with a call to your model (OpenAI/Anthropic SDK,
LangGraph's `astream`, …): anything that yields text pieces fits.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # agent.py imports this module; the type is only for hints
    from agent import Turn

# Per-conversation memory, keyed by chat_id: the surface never sends history.
history: dict[str, list[dict[str, str]]] = defaultdict(list)


async def respond(turn: Turn) -> None:
    messages = history[turn.chat_id]
    messages.append({"role": "user", "content": turn.text_in})
    lowered = turn.text_in.lower()

    if "report" in lowered:
        await write_report(turn)
    elif "clean up" in lowered:
        await clean_up(turn)

    answer = []
    async for piece in demo_model(messages):
        answer.append(piece)
        await turn.text(piece)
    messages.append({"role": "assistant", "content": "".join(answer)})


def chat_closed(chat_id: str, reason: str) -> None:
    history.pop(chat_id, None)


async def demo_model(messages: list[dict[str, str]]) -> AsyncIterator[str]:
    """A pretend LLM: streams the last user message back, one word at a time."""
    words = messages[-1]["content"].split()
    yield f"You said ({len(words)} words):"
    for word in words:
        await asyncio.sleep(0.05)  # a real model takes time per token; cancel lands here
        yield f" {word}"


async def write_report(turn: Turn) -> None:
    """A tool call shown to the user, a file written into the workspace and sent back."""
    name = f"reports/report-{turn.chat_id}.md"
    call_id = await turn.tool_call("write_report", {"path": name})
    target = turn.workspace / name
    target.parent.mkdir(parents=True, exist_ok=True)
    turns = len(history[turn.chat_id]) // 2 + 1
    target.write_text(f"# Report\n\nChat {turn.chat_id}, {turns} message(s) so far.\n", encoding="utf-8")
    await turn.tool_result(call_id, ok=True, summary=f"wrote {name}")
    await turn.file(name, caption="Your report", mime="text/markdown")


async def clean_up(turn: Turn) -> None:
    """Ask before doing something the user may regret."""
    if not await turn.confirm("Delete all reports in the workspace?"):
        await turn.text("Kept the reports. ")
        return
    removed = 0
    for path in (turn.workspace / "reports").glob("*.md"):
        path.unlink()
        removed += 1
    await turn.text(f"Deleted {removed} report(s). ")
