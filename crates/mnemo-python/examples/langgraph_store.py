"""mnemo as LangGraph's long-term memory store."""

from typing import Any, Dict, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore

import mnemo
from mnemo.langgraph import MnemoStore


class State(TypedDict):
    question: str
    answer: str


def answer(state: State, *, store: BaseStore) -> Dict[str, Any]:
    found = store.search(("users", "alice"), query=state["question"], limit=1)
    return {"answer": found[0].value["text"] if found else "I don't know"}


with mnemo.Mnemo.in_memory() as db:
    store = MnemoStore(db)
    store.put(("users", "alice"), "home", {"text": "Alice lives in Lisbon"})
    builder = StateGraph(State)
    builder.add_node("answer", answer)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    graph = builder.compile(store=store)
    result = graph.invoke({"question": "where does alice live", "answer": ""})
    print(result["answer"])  # Alice lives in Lisbon
