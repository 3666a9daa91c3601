"""The children's garbage collector runs between requests, not in the middle of them."""

from __future__ import annotations

import gc
import multiprocessing
import threading
import time
import weakref

import pytest

from api.child_process import IdleCollector


class _Node:
    pass


def _cyclic_garbage() -> weakref.ref:
    """A reference cycle nobody holds: only the cyclic collector frees it."""
    node = _Node()
    node.itself = node
    return weakref.ref(node)


def _idle_round(collector: IdleCollector, receive, send) -> None:
    """Some work, then a wait long enough to collect."""
    send.send("work")
    assert collector.receive(receive) == "work"
    threading.Timer(0.2, send.send, ("later",)).start()
    assert collector.receive(receive) == "later"


@pytest.fixture
def pipe():
    receive, send = multiprocessing.Pipe(duplex=False)
    enabled = gc.isenabled()
    yield receive, send
    receive.close()
    send.close()
    gc.unfreeze()  # IdleCollector freezes survivors and turns automatic collection off
    if enabled:
        gc.enable()


def test_automatic_collection_is_off_so_busy_work_is_never_interrupted(pipe):
    receive, send = pipe
    collector = IdleCollector(idle=0.05, at_most=60)
    assert not gc.isenabled()
    send.send("first")
    send.send("second")  # already waiting: the child is busy, so nothing is collected
    assert collector.receive(receive) == "first"
    garbage = _cyclic_garbage()
    assert collector.receive(receive) == "second"
    assert garbage() is not None


def test_a_child_that_waits_for_work_collects_while_it_waits(pipe):
    receive, send = pipe
    collector = IdleCollector(idle=0.05, at_most=60)
    garbage = _cyclic_garbage()
    _idle_round(collector, receive, send)
    assert garbage() is None


def test_a_child_busy_for_too_long_collects_anyway(pipe):
    receive, send = pipe
    collector = IdleCollector(idle=60, at_most=0.05)
    send.send("first")
    assert collector.receive(receive) == "first"
    garbage = _cyclic_garbage()
    time.sleep(0.1)
    send.send("second")
    assert collector.receive(receive) == "second"
    assert garbage() is None


def test_it_collects_only_when_work_was_done_since_the_last_collection(pipe, monkeypatch):
    receive, send = pipe
    collector = IdleCollector(idle=0.01, at_most=60)
    runs = []
    monkeypatch.setattr(gc, "collect", lambda *a: runs.append(1) or 0)
    threading.Timer(0.2, send.send, ("work",)).start()
    assert collector.receive(receive) == "work"
    assert runs == []  # a child that just started has nothing to free
    threading.Timer(0.2, send.send, ("more",)).start()
    assert collector.receive(receive) == "more"
    assert runs == [1]


def test_what_survives_a_collection_is_frozen_so_the_next_one_skips_it(pipe):
    receive, send = pipe
    collector = IdleCollector(idle=0.05, at_most=60)
    survivors = [_Node() for _ in range(1_000)]  # a cache
    frozen = gc.get_freeze_count()
    _idle_round(collector, receive, send)
    assert gc.get_freeze_count() >= frozen + len(survivors)


@pytest.mark.parametrize(("everything", "freed"), [(0, True), (600, False)])
def test_now_and_then_an_idle_collection_looks_at_the_frozen_objects_too(pipe, everything,
                                                                          freed):
    receive, send = pipe
    collector = IdleCollector(idle=0.05, at_most=60, everything=everything)
    cache = {"entry": _Node()}
    cache["entry"].itself = cache["entry"]
    entry = weakref.ref(cache["entry"])
    _idle_round(collector, receive, send)  # the entry is alive: frozen
    cache.clear()  # now a cycle nobody holds, among frozen objects
    _idle_round(collector, receive, send)
    assert (entry() is None) is freed  # within `everything` seconds, not at every collection
