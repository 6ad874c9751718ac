"""The key derivation started ahead (``kdf_ahead``, ``vault.ahead``, ``cli._ahead``): never another key.

A derivation started ahead runs in a forked child; the open takes its key only for the very same inputs,
and derives as always otherwise. The guard (the client's memory of a slot's KDF settings) sees the slot
before anything is started, as it does before the open derives. The command starts it from its words as
click reads them; the light part of the vault it needs loads without pydantic. No time is asserted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from contactvault import Contact, KdfLimitExceeded, Vault, crypto, kdf_ahead, normalize_phone
from contactvault.cli import COMMAND_TABLE, _ahead, main
from contactvault.crypto import KdfParams
from contactvault.vault import ahead
from contactvault.vault.backends import open_backend
from tests.teams import FAST, stored_header

_PARAMS = (
    FAST,
    KdfParams(memory_kib=16, iterations=1, lanes=1),
    KdfParams(memory_kib=8, iterations=2, lanes=1),
)

_FILE = "CONTACTVAULT_PASSPHRASE_FILE"
_KEY = "CONTACTVAULT_SERVICE_KEY"


def _gone(pid: int) -> bool:
    """Whether the child ``pid`` was waited for (no zombie left)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def _run(
    code: str, *args: str, env: dict[str, str] | None = None, status: int = 0
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with ``args`` in a new interpreter (one thread, as a command starts); exit ``status``."""
    done = subprocess.run(  # noqa: S603  (our own interpreter)
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=env,
    )
    assert done.returncode == status, done.stderr
    return done


def _fresh(code: str) -> dict[str, object]:
    """Run ``code`` in a new interpreter; the JSON it prints last."""
    result: dict[str, object] = json.loads(_run(code).stdout.splitlines()[-1])
    return result


def _running(pid: int) -> bool:
    """Whether the process ``pid`` (not necessarily a child of this one) runs: not gone, not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


# --- kdf_ahead: the child and its key -----------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    started=st.tuples(st.sampled_from(["pw", "pw2", "Jürgen"]), st.sampled_from([b"s" * 16, b"t" * 16])),
    asked=st.tuples(st.sampled_from(["pw", "pw2", "Jürgen"]), st.sampled_from([b"s" * 16, b"t" * 16])),
    params=st.tuples(st.sampled_from(_PARAMS), st.sampled_from(_PARAMS)),
)
def test_a_key_taken_is_only_ever_the_key_asked_for(started, asked, params):
    """Whatever was started, ``take`` gives the asked derivation's key or nothing, and leaves no child."""
    if not kdf_ahead.start(started[0], started[1], params[0]):
        assert threading.active_count() > 1  # the only reason not to start, on Linux
        return
    pid = kdf_ahead._current[0].pid
    key = kdf_ahead.take(asked[0], asked[1], params[1])
    if (started, params[0]) == (asked, params[1]):
        assert key == crypto.derive_kek(asked[0], asked[1], params[1])
    else:
        assert key is None
    assert _gone(pid)
    assert kdf_ahead.take(started[0], started[1], params[0]) is None  # taken once


def test_a_fresh_process_derives_ahead_in_a_child_and_takes_its_key():
    """In a new interpreter (one thread) a child derives; its key is ``derive_kek``'s; none is left."""
    result = _fresh(
        """
        import json, os
        from contactvault import crypto, kdf_ahead
        from contactvault.crypto import KdfParams
        params = KdfParams.default()
        started = kdf_ahead.start("correct horse", b"s" * 16, params)
        child = kdf_ahead._current[0].pid
        alive = os.waitpid(child, os.WNOHANG) == (0, 0)
        key = kdf_ahead.take("correct horse", b"s" * 16, params)
        try:
            os.waitpid(child, os.WNOHANG)
            reaped = False
        except ChildProcessError:
            reaped = True
        same = key == crypto.derive_kek("correct horse", b"s" * 16, params)
        kdf_ahead.start("correct horse", b"s" * 16, params)
        stopped = kdf_ahead._current[0].pid
        kdf_ahead.forget()
        try:
            os.kill(stopped, 0)
            killed = False
        except ProcessLookupError:
            killed = True
        print(json.dumps({"started": started, "alive": alive, "same": same, "reaped": reaped,
                          "killed": killed, "left": len(kdf_ahead._current)}))
        """
    )
    assert result == {"started": True, "alive": True, "same": True, "reaped": True, "killed": True, "left": 0}


def test_a_child_that_fails_gives_no_key():
    """A child whose derivation fails ends without writing: ``take`` is ``None`` (the open derives)."""
    result = _fresh(
        """
        import json
        from contactvault import crypto, kdf_ahead
        from contactvault.crypto import KdfParams
        def broken(*args):
            raise MemoryError("no memory for Argon2id")
        real, crypto.derive_kek = crypto.derive_kek, broken  # the child is a copy: it fails
        started = kdf_ahead.start("pw", b"s" * 16, KdfParams.insecure_fast_for_tests())
        crypto.derive_kek = real
        print(json.dumps({"started": started,
                          "key": kdf_ahead.take("pw", b"s" * 16, KdfParams.insecure_fast_for_tests())}))
        """
    )
    assert result == {"started": True, "key": None}


def test_the_child_holds_none_of_the_commands_descriptors():
    """A command killed mid-derivation: whoever reads its output sees the end now, not the child's end."""
    code = """
        import os, signal
        from contactvault import kdf_ahead
        from contactvault.crypto import KdfParams
        slow = KdfParams(memory_kib=128 * 1024, iterations=64, lanes=1)  # seconds: the child is at work
        assert kdf_ahead.start("pw", b"s" * 16, slow)
        print(kdf_ahead._current[0].pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no clean-up: the child is left running
    """
    command = subprocess.Popen(  # noqa: S603  (our own interpreter)
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, _ = command.communicate(timeout=120)  # returns at end-of-file on both pipes
    child = int(out.decode("ascii").split()[0])
    try:
        assert command.returncode == -signal.SIGKILL
        assert _running(child)  # the output ended while the child still derived: it holds no copy of it
    finally:
        with contextlib.suppress(OSError):
            os.kill(child, signal.SIGKILL)


def test_a_key_no_open_took_is_dropped_when_the_command_ends(fast_vault, tmp_path):
    """A command that fails after the derivation started (a bad option) kills and waits for the child."""
    (tmp_path / "pw").write_text("pw\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTVAULT_")}
    env["CONTACTVAULT_STATE_DIR"] = str(tmp_path / "state")
    code = """
        import atexit, json, os
        from contactvault import kdf_ahead
        started, real = [], kdf_ahead.start
        def spy(*args):
            if real(*args):
                started.append(kdf_ahead._current[0].pid)
                return True
            return False
        kdf_ahead.start = spy
        def report():
            gone = True
            for pid in started:
                try:
                    os.waitpid(pid, os.WNOHANG)
                    gone = False
                except ChildProcessError:
                    pass
            print(json.dumps({"started": len(started), "left": len(kdf_ahead._current), "gone": gone}))
        atexit.register(report)
        from contactvault.cli import main
        main()
    """
    words = ["list", "--vault", str(fast_vault), "--passphrase-file", str(tmp_path / "pw"), "--no-such"]
    done = _run(code, *words, env=env, status=2)  # click's usage error, after the derivation started
    assert "no such option" in done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"started": 1, "left": 0, "gone": True}


def test_nothing_is_forked_while_other_threads_run():
    """A fork of a process with threads may hang in its child: then nothing starts ahead."""
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert kdf_ahead.start("pw", b"s" * 16, FAST) is False
        assert kdf_ahead._current == []
    finally:
        release.set()
        other.join()


# --- vault.ahead: the slot, the guard -----------------------------------------------------------------------


@pytest.fixture
def fast_vault(tmp_path: Path) -> Path:
    path = tmp_path / "v.db"
    with Vault.create(path, "pw", kdf=FAST) as vault:
        vault.add(
            Contact(display_name="Anna", phones=(normalize_phone("+4915155501200", default_region=None),))
        )
    return path


def test_the_guard_sees_the_slot_before_anything_is_started(fast_vault, monkeypatch):
    """A slot whose KDF cost went up since this client saw it starts nothing (the open refuses it too)."""
    Vault.open(fast_vault, "pw").close()  # the client remembers the slot's settings
    header = stored_header(fast_vault)
    costly = tuple(
        dataclasses.replace(s, kdf=KdfParams(memory_kib=64, iterations=3, lanes=1)) for s in header.slots
    )
    storage = open_backend(fast_vault, lock_timeout=5)
    try:
        with storage.transaction():
            storage.write_single("header", dataclasses.replace(header, slots=costly).pack())
    finally:
        storage.close()
    started: list[object] = []
    monkeypatch.setattr(kdf_ahead, "start", lambda *args: started.append(args) or True)
    assert ahead.start(fast_vault, "pw", None) is False
    assert started == []
    with pytest.raises(KdfLimitExceeded):
        Vault.open(fast_vault, "pw")


@pytest.mark.parametrize(
    ("where", "passphrase", "user"),
    [
        ("missing.db", "pw", None),
        ("not-a-vault.db", "pw", None),
        ("v.db", "pw", "nobody"),
        ("v.db", "", None),
    ],
)
def test_what_the_open_would_refuse_starts_nothing(fast_vault, monkeypatch, where, passphrase, user):
    """A missing file, a file that is no vault, an unknown user, an empty passphrase: nothing, no error."""
    (fast_vault.parent / "not-a-vault.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    monkeypatch.setattr(kdf_ahead, "start", lambda *args: pytest.fail("started"))
    assert ahead.start(fast_vault.parent / where, passphrase, user) is False


def test_the_slot_found_is_the_one_the_open_derives(fast_vault, monkeypatch):
    """``start`` asks for the derivation the open will ask for: the open's take is a hit."""
    asked: list[tuple[object, ...]] = []
    monkeypatch.setattr(kdf_ahead, "start", lambda *args: asked.append(args) or True)
    assert ahead.start(fast_vault, "pw", None) is True
    taken: list[tuple[object, ...]] = []
    monkeypatch.setattr(kdf_ahead, "take", lambda *args: taken.append(args))
    Vault.open(fast_vault, "pw").close()
    assert asked == taken


# --- cli._ahead: the command's words, as click reads them ---------------------------------------------------


@pytest.mark.parametrize(
    ("words", "env", "expected"),
    [
        (["list", "--vault", "{v}", "--passphrase-file", "{p}"], {}, ("{v}", None)),
        (["show", "abc", "--vault={v}", "--passphrase-file={p}", "--user", "alice"], {}, ("{v}", "alice")),
        (["list", "--vault", "other.db", "--vault", "{v}", "--passphrase-file", "{p}"], {}, ("{v}", None)),
        (["list"], {"CONTACTVAULT_VAULT": "{v}", _FILE: "{p}"}, ("{v}", None)),
        (
            ["list", "--vault", "{v}"],
            {"CONTACTVAULT_PASSPHRASE_FILE": "{p}", "CONTACTVAULT_USER": "bob"},
            ("{v}", "bob"),
        ),
        (["list", "--vault", "{v}"], {}, None),  # a prompt: nothing to gain
        (["list", "--vault", "{v}", "--passphrase-file", "{p}", "--help"], {}, None),
        (["list", "--vault", "{v}", "--passphrase-file", "{p}", "--service-key-file", "k"], {}, None),
        (
            ["list", "--vault", "{v}", "--passphrase-file", "{p}"],
            {"CONTACTVAULT_SERVICE_KEY": "cvsk-x"},
            None,
        ),
        (["list", "--vault", "postgresql://h/db", "--passphrase-file", "{p}"], {}, None),
        (["init", "--vault", "{v}", "--passphrase-file", "{p}"], {}, None),
        (["list", "--vault", "{v}", "--passphrase-file", "{p}/missing"], {}, None),
        (["list", "--", "--vault", "{v}", "--passphrase-file", "{p}"], {}, None),
        (["list", "--vault", "{v}", "--passphrase-file"], {}, None),
    ],
)
def test_the_command_starts_what_its_options_open(tmp_path, monkeypatch, words, env, expected):
    """The vault, passphrase file and user are read from the words and variables as click reads them."""
    vault, secret = tmp_path / "v.db", tmp_path / "pw"
    secret.write_text("the passphrase\nsecond line\n", encoding="utf-8")
    for name in (
        "CONTACTVAULT_VAULT",
        "CONTACTVAULT_PASSPHRASE_FILE",
        "CONTACTVAULT_USER",
        "CONTACTVAULT_SERVICE_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CONTACTVAULT_SERVICE_KEY_FILE", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(v=vault, p=secret))
    asked: list[tuple[object, ...]] = []
    monkeypatch.setattr(ahead, "start", lambda *args: asked.append(args) or True)
    started = _ahead.begin(words[0], [w.format(v=vault, p=secret) for w in words[1:]])
    if expected is None:
        assert (started, asked) == (False, [])
    else:
        assert started is True
        assert asked == [(Path(expected[0].format(v=vault)), "the passphrase", expected[1])]


# --- the command --------------------------------------------------------------------------------------------


def test_the_command_opens_with_the_key_derived_ahead(fast_vault, tmp_path):
    """`contactvault list`, run as the command: its own process never runs Argon2id, and lists the same."""
    (tmp_path / "pw").write_text("pw\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTVAULT_")}
    env["CONTACTVAULT_STATE_DIR"] = str(tmp_path / "state")
    code = """
        import atexit, json, os, sys
        from contactvault import crypto
        parent, derived = os.getpid(), []
        real = crypto.derive_kek
        def spy(*args):
            if os.getpid() == parent:
                derived.append(1)
            return real(*args)
        crypto.derive_kek = spy
        atexit.register(lambda: print(json.dumps({"derived here": len(derived)})))
        from contactvault.cli import main
        main()
    """
    words = ["list", "--vault", str(fast_vault), "--passphrase-file", str(tmp_path / "pw")]
    done = _run(code, *words, env=env)
    assert "A." in done.stdout
    assert json.loads(done.stdout.splitlines()[-1]) == {"derived here": 0}
    wrong = tmp_path / "wrong"
    wrong.write_text("not it\n", encoding="utf-8")
    refused = CliRunner().invoke(main, ["list", "--vault", str(fast_vault), "--passphrase-file", str(wrong)])
    assert refused.exit_code != 0
    assert "passphrase" in refused.output.lower()


def test_the_vaults_light_part_loads_without_pydantic():
    """What the command needs before it starts deriving loads without the models (so it starts early)."""
    result = _fresh(
        """
        import json, sys
        import contactvault.cli._ahead, contactvault.vault.ahead
        heavy = ("pydantic", "contactvault.models", "phonenumbers")
        loaded = sorted(m for m in sys.modules if m.startswith(heavy))
        import contactvault.vault
        print(json.dumps({"loaded": loaded, "vault": contactvault.vault.Vault.__name__}))
        """
    )
    assert result == {"loaded": [], "vault": "Vault"}


def test_the_commands_that_start_ahead_are_commands_that_open_a_vault():
    """Every command named in `_ahead.OPENING` exists, and none of those that make or restore a vault."""
    assert COMMAND_TABLE.keys() >= _ahead.OPENING
    assert not _ahead.OPENING & {"init", "restore", "demo"}


def test_main_called_with_arguments_starts_nothing_ahead(fast_vault, tmp_path, monkeypatch):
    """A program (a test runner) that calls `main` with its arguments forks nothing; the command does."""
    (tmp_path / "pw").write_text("pw\n", encoding="utf-8")
    monkeypatch.setattr(_ahead, "begin", lambda *args: pytest.fail("started ahead"))
    result = CliRunner().invoke(
        main, ["list", "--vault", str(fast_vault), "--passphrase-file", str(tmp_path / "pw")]
    )
    assert result.exit_code == 0, result.output
