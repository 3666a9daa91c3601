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


@pytest.fixture
def pipe():
    receive, send = multiprocessing.Pipe(duplex=False)
    enabled = gc.isenabled()
    yield receive, send
    receive.close()
    send.close()
    if enabled:
        gc.enable()  # IdleCollector turns automatic collection off for the whole process


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
    send.send("first")
    assert collector.receive(receive) == "first"
    garbage = _cyclic_garbage()
    threading.Timer(0.3, send.send, ("later",)).start()
    assert collector.receive(receive) == "later"
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
