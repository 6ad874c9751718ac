"""A helper process's pipes (``contactvault._helper_process``): whole frames; a broken pipe is ``Broken``."""

from __future__ import annotations

import os
import sys

import pytest

from contactvault import _helper_process
from contactvault._helper_process import Broken, Helper

_ECHO_IN_HALVES = """
import sys
from contactvault.importers import _frames as f
r, w = sys.stdin.buffer, sys.stdout.buffer
while (frame := f.read_frame(r)) is not None:
    whole = f.HEADER.pack(len(frame)) + frame
    w.write(whole[:3]); w.flush()  # half of the length
    f.read_frame(r)  # the parent's go-ahead
    w.write(whole[3:]); w.flush()
"""


@pytest.fixture
def echo():
    helper = Helper([sys.executable, "-c", _ECHO_IN_HALVES])
    yield helper
    helper.stop(kill=True)


def test_ready_means_a_whole_frame(echo, monkeypatch):
    monkeypatch.setattr(_helper_process, "ANSWER_SECONDS", 30.0)
    echo.send(b"hello")
    while not echo._buffer:  # the first half arrives
        echo._read(1.0)
    assert not echo.ready()
    echo.send(b"go")
    assert echo.receive() == b"hello"
    assert not echo.ready()


def test_a_broken_output_pipe_is_broken_not_an_os_error(echo):
    gone = os.open(os.devnull, os.O_RDONLY)
    os.close(gone)
    echo._output = gone  # a descriptor that is no longer open: reading it fails (EBADF)
    with pytest.raises(Broken):
        echo.receive()


def test_writing_to_a_closed_input_is_broken(echo):
    echo.stdin.close()
    with pytest.raises(Broken):
        echo.send(b"x")
