"""The users of a vault on the command line: user add, list, remove, passwd, rekey, and services' keys.

Each person opens the vault with their own passphrase (``--user``), a service with its key (a file of
mode 0600, or ``CONTACTVAULT_SERVICE_KEY``); a removed user is refused, also after ``rekey``; ``rekey``
shows the new recovery key once and the old one stops working. The main flow runs on both backends.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from contactvault import Contact, KdfParams, Vault, WrongPassphrase, normalize_phone
from contactvault.cli import main
from contactvault.errors import VaultError

FAST = KdfParams.insecure_fast_for_tests()
OWNER_PASSPHRASE = "the owner's passphrase"  # noqa: S105  (a test vault)
ALICE_PASSPHRASE = "alice's own passphrase"  # noqa: S105
NAMES = ("Anna Beispiel", "Bernd Müller")


@pytest.fixture(autouse=True)
def _fast_and_private(tmp_path, monkeypatch):
    """New key slots get the fast KDF; what this client remembers goes into the test's own folder."""
    monkeypatch.setattr(KdfParams, "default", classmethod(lambda cls: FAST))
    monkeypatch.setenv("CONTACTVAULT_STATE_DIR", str(tmp_path / "state"))
    for name in ("CONTACTVAULT_USER", "CONTACTVAULT_SERVICE_KEY", "CONTACTVAULT_SERVICE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def terminal(monkeypatch):
    """Standard input counts as a terminal: the test types its answers through click's runner."""
    monkeypatch.setattr("contactvault.cli._app.interactive", lambda: True)


@dataclass
class Team:
    """A vault (file or URL) made by "owner" with a recovery key and two contacts, and secret files."""

    location: str
    folder: Path
    recovery_key: str

    def secret(self, name: str, text: str) -> Path:
        """A new file of mode 0600 in the test's folder whose first line is ``text``."""
        path = self.folder / name
        path.write_text(text + "\n", encoding="utf-8")
        path.chmod(0o600)
        return path

    @property
    def owner(self) -> list[str]:
        """The options that open the vault as the owner."""
        return ["--vault", self.location, "--user", "owner", "--passphrase-file", str(self.owner_file)]

    @property
    def owner_file(self) -> Path:
        """The owner's passphrase file."""
        return self.secret("owner.txt", OWNER_PASSPHRASE)

    @property
    def alice(self) -> list[str]:
        """The options that open the vault as alice."""
        alice = self.secret("alice.txt", ALICE_PASSPHRASE)
        return ["--vault", self.location, "--user", "alice", "--passphrase-file", str(alice)]


def _team(location: str, folder: Path) -> Team:
    contacts = [
        Contact(display_name=name, phones=(normalize_phone(f"+49151555012{i}", default_region=None),))
        for i, name in enumerate(NAMES)
    ]
    with Vault.create(location, OWNER_PASSPHRASE, kdf=FAST, recovery_key=True) as vault:
        vault.add_many(contacts)
        key = vault.recovery_key
    assert key is not None
    return Team(location, folder, key)


@pytest.fixture
def team(tmp_path) -> Team:
    return _team(str(tmp_path / "vault.db"), tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_team(request, tmp_path) -> Team:
    """The same team on a vault file and on a vault in PostgreSQL."""
    location = str(tmp_path / "vault.db") if request.param == "sqlite" else request.getfixturevalue("pg_url")
    return _team(location, tmp_path)


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    result = CliRunner(env=env).invoke(main, list(args), input=input)
    assert "Traceback" not in result.output
    for secret in (OWNER_PASSPHRASE, ALICE_PASSPHRASE):
        assert secret not in result.output
    return result


def ok(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    result = run(*args, input=input, env=env)
    assert result.exit_code == 0, result.output
    return result


def error(result: Result, code: int) -> str:
    """The one error line (rich may wrap it: folded back), after checking the exit code."""
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("error:"), result.output
    return " ".join(result.stderr.split())


def add_alice(team: Team) -> None:
    new = team.secret("new.txt", ALICE_PASSPHRASE)
    added = ok("user", "add", "alice", *team.owner, "--new-passphrase-file", str(new))
    assert added.stdout.startswith("owner added alice to ")


# --- people ------------------------------------------------------------------------------------------------


def test_a_team_adds_removes_and_rekeys(any_team: Team):
    """The main flow, on a file and in PostgreSQL: add, open as alice, remove, rekey, verify."""
    team = any_team
    add_alice(team)
    listed = json.loads(ok("list", "--json", *team.alice).stdout)
    assert len(listed) == len(NAMES)
    users = json.loads(ok("user", "list", "--json", *team.alice).stdout)
    assert [(u["name"], u["kind"], u["you"]) for u in users] == [
        ("owner", "person", False),
        ("recovery key", "recovery key", False),
        ("alice", "person", True),
    ]
    assert users[2]["kdf"] == {"memory_kib": 8, "iterations": 1, "lanes": 1}
    assert users[1]["kdf"] is None

    removed = ok("user", "remove", "alice", "--yes", *team.owner).stdout
    assert "owner removed the person alice" in removed
    assert "their passphrase no longer opens this vault" in removed
    assert "run `contactvault rekey` now" in " ".join(removed.split())
    error(run("list", *team.alice), 3)

    rekeyed = json.loads(ok("rekey", "--json", *team.owner).stdout)
    assert rekeyed["contacts"] == len(NAMES)
    assert rekeyed["users"] == ["owner"]
    assert rekeyed["rekeyed_by"] == "owner"
    new_key = rekeyed["recovery_key"]
    assert isinstance(new_key, str)
    assert new_key != team.recovery_key
    assert "OK" in ok("verify", *team.owner).stdout
    assert len(json.loads(ok("list", "--json", *team.owner).stdout)) == len(NAMES)
    error(run("list", *team.alice), 3)
    with pytest.raises(WrongPassphrase):
        Vault.open_with_recovery_key(team.location, team.recovery_key)
    with Vault.open_with_recovery_key(team.location, new_key) as vault:
        assert len(vault) == len(NAMES)


def test_rekey_prints_the_new_recovery_key_as_init_does(team: Team):
    """The text form names the counts and users and shows the new recovery key once, in init's words."""
    out = ok("rekey", *team.owner).stdout
    assert f"owner re-keyed {Path(team.location).name}: a new master key, 2 data keys re-wrapped" in out
    assert "Users who can open it: owner." in out
    assert "The old recovery key no longer opens this vault." in out
    assert "Recovery key, shown this once." in out
    key = next(line.strip() for line in out.splitlines() if line.startswith("  "))
    assert out.count(key) == 1
    with Vault.open_with_recovery_key(team.location, key) as vault:
        assert vault.user == "recovery key"


def test_several_users_without_user_is_a_clear_error(team: Team, monkeypatch):
    """With two people and no --user the open says to name one; CONTACTVAULT_USER names one too."""
    add_alice(team)
    alice = team.secret("alice.txt", ALICE_PASSPHRASE)
    line = error(run("list", "--vault", team.location, "--passphrase-file", str(alice)), 3)
    assert "--user or CONTACTVAULT_USER" in line
    ok("list", "--vault", team.location, "--passphrase-file", str(alice), env={"CONTACTVAULT_USER": "alice"})
    unknown = error(run("list", *team.owner[:2], "--user", "bob", "--passphrase-file", str(alice)), 3)
    assert "bob" in unknown


def test_user_add_asks_the_new_passphrase_twice_and_refuses_without_a_terminal(team: Team, monkeypatch):
    """Without --new-passphrase-file: exit 2 before anything is opened; on a terminal, asked twice."""
    line = error(run("user", "add", "alice", *team.owner), 2)
    assert line.endswith(
        "no passphrase for alice: give --new-passphrase-file (there is no terminal to ask on)"
    )
    monkeypatch.setattr("contactvault.cli._app.interactive", lambda: True)
    typed = f"{ALICE_PASSPHRASE}\n{ALICE_PASSPHRASE}\n"
    ok("user", "add", "alice", *team.owner, input=typed)
    with Vault.open(team.location, ALICE_PASSPHRASE, user="alice") as vault:
        assert vault.user == "alice"


@pytest.mark.parametrize(
    ("name", "code", "words"),
    [
        ("owner", 2, "already has a user 'owner'"),
        ("recovery key", 2, "recovery key"),
        (" spaced", 2, "printable text"),
    ],
)
def test_user_add_refusals(team: Team, name: str, code: int, words: str):
    new = team.secret("new.txt", ALICE_PASSPHRASE)
    line = error(run("user", "add", name, *team.owner, "--new-passphrase-file", str(new)), code)
    assert words in line


def test_user_remove_asks_first_and_refuses_without_a_terminal(team: Team, monkeypatch):
    """No --yes and no terminal: exit 2, nothing removed; on a terminal "n" keeps alice, "y" removes her."""
    add_alice(team)
    line = error(run("user", "remove", "alice", *team.owner), 2)
    assert "give --yes" in line
    monkeypatch.setattr("contactvault.cli._app.interactive", lambda: True)
    kept = ok("user", "remove", "alice", *team.owner, input="n\n")
    assert "Nothing was removed." in kept.stderr
    ok("list", *team.alice)
    ok("user", "remove", "alice", *team.owner, input="y\n")
    with pytest.raises(VaultError):  # UnknownUser, or VaultCorrupted where this client opened as alice
        Vault.open(team.location, ALICE_PASSPHRASE, user="alice")


def test_user_remove_refusals(team: Team):
    """An unknown user is exit 3; the last user and the recovery key cannot be removed (exit 2 / 3)."""
    assert "bob" in error(run("user", "remove", "bob", "--yes", *team.owner), 3)
    assert "last user" in error(run("user", "remove", "owner", "--yes", *team.owner), 2)
    assert "recovery key" in error(run("user", "remove", "recovery key", "--yes", *team.owner), 3)


def test_user_passwd_is_passwd(team: Team):
    """`user passwd` sets one's own passphrase or NAME's; `passwd` is the same command."""
    add_alice(team)
    first = team.secret("first.txt", "alice's first new one")
    out = ok("user", "passwd", *team.alice, "--new-passphrase-file", str(first)).stdout
    assert out.startswith("Passphrase of alice changed for vault.db; the recovery key keeps working")
    second = team.secret("second.txt", "alice's second new one")
    out = ok("passwd", "alice", *team.owner, "--new-passphrase-file", str(second)).stdout
    assert out.startswith("Passphrase of alice changed for vault.db by owner;")
    with Vault.open(team.location, "alice's second new one", user="alice") as vault:
        assert vault.user == "alice"
    key = team.secret("recovery.txt", team.recovery_key)
    third = team.secret("third.txt", "set with the recovery key")
    options = ["--vault", team.location, "--recovery-key-file", str(key), "--new-passphrase-file", str(third)]
    assert "name the person" in error(run("user", "passwd", *options), 2)
    out = ok("user", "passwd", "alice", *options).stdout
    assert "Passphrase of alice changed for vault.db with the recovery key" in out
    with Vault.open(team.location, "set with the recovery key", user="alice"):
        pass


def test_a_costlier_kdf_is_refused_unless_accepted(team: Team):
    """A slot whose KDF cost went up since this client opened it: exit 3, unless the variable accepts it."""
    add_alice(team)
    ok("list", *team.alice)  # this client remembers alice's KDF
    with Vault.open(team.location, OWNER_PASSPHRASE, user="owner") as vault:
        vault.change_passphrase(ALICE_PASSPHRASE, user="alice", kdf=KdfParams(16, 2, 1))
    assert "CONTACTVAULT_ACCEPT_KDF_CHANGE=1" in error(run("list", *team.alice), 3)
    ok("list", *team.alice, env={"CONTACTVAULT_ACCEPT_KDF_CHANGE": "1"})
    line = error(run("list", *team.owner, env={"CONTACTVAULT_ACCEPT_KDF_CHANGE": "maybe"}), 2)
    assert "CONTACTVAULT_ACCEPT_KDF_CHANGE must be 1" in line


def test_init_names_the_first_user(tmp_path):
    secret = tmp_path / "pw.txt"
    secret.write_text(OWNER_PASSPHRASE + "\n", encoding="utf-8")
    path = tmp_path / "new.db"
    options = ["--vault", str(path), "--passphrase-file", str(secret)]
    data = json.loads(ok("init", *options, "--user", "anna", "--json").stdout)
    assert data["user"] == "anna"
    with Vault.open(path, OWNER_PASSPHRASE) as vault:
        assert vault.user == "anna"


# --- services ----------------------------------------------------------------------------------------------


def test_a_service_opens_with_its_key_file_or_variable(team: Team):
    """`user add --service --key-file`: a new 0600 file; the service lists without any passphrase."""
    key_file = team.folder / "nightly.key"
    added = ok("user", "add", "nightly", "--service", "--key-file", str(key_file), *team.owner)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text(encoding="utf-8").strip()
    assert key.startswith("cvsk-")
    assert key not in added.output
    assert "owner added the service nightly" in added.stdout
    vault = ["--vault", team.location]
    listed = ok("list", "--json", *vault, env={"CONTACTVAULT_SERVICE_KEY_FILE": str(key_file)})
    assert len(json.loads(listed.stdout)) == len(NAMES)
    users = json.loads(ok("user", "list", "--json", *vault, "--service-key-file", str(key_file)).stdout)
    assert {u["name"]: (u["kind"], u["you"]) for u in users}["nightly"] == ("service", True)
    ok("verify", *vault, env={"CONTACTVAULT_SERVICE_KEY": key})
    ok("list", *vault, "--user", "nightly", env={"CONTACTVAULT_SERVICE_KEY": key})
    as_owner = run("list", *team.owner[:4], env={"CONTACTVAULT_SERVICE_KEY": key})
    assert "not the key of 'owner'" in error(as_owner, 3)

    key_file.chmod(0o644)
    line = error(run("list", *vault, env={"CONTACTVAULT_SERVICE_KEY_FILE": str(key_file)}), 5)
    assert f"service key file {key_file}" in line
    assert f"chmod 600 {key_file}" in line
    assert key not in line
    missing = error(run("list", *vault, "--service-key-file", str(team.folder / "gone.key")), 5)
    assert "gone.key" in missing
    wrong = error(run("list", *vault, env={"CONTACTVAULT_SERVICE_KEY": "cvsk-" + "A" * 43}), 3)
    assert "cvsk-" not in wrong


def test_a_removed_service_is_refused_after_rekey(team: Team):
    key_file = team.folder / "web.key"
    ok("user", "add", "web", "--service", "--key-file", str(key_file), *team.owner)
    removed = ok("user", "remove", "web", "--yes", *team.owner).stdout
    assert "their key no longer opens this vault" in removed
    ok("rekey", *team.owner)
    error(run("list", "--vault", team.location, "--service-key-file", str(key_file)), 3)


def test_service_key_to_stdout_and_refusals(team: Team, monkeypatch):
    """`--key-file -` prints the key alone on stdout; an existing file, a missing --key-file are refused."""
    printed = ok("user", "add", "web", "--service", "--key-file", "-", *team.owner)
    key = printed.stdout.strip()
    assert key.startswith("cvsk-")
    assert printed.stdout == key + "\n"
    assert "shown once" in printed.stderr
    with Vault.open(team.location, service_key=key) as vault:
        assert vault.user == "web"
    existing = team.folder / "existing.key"
    existing.write_text("keep me\n", encoding="utf-8")
    line = error(run("user", "add", "cron", "--service", "--key-file", str(existing), *team.owner), 2)
    assert "existing.key already exists" in line
    assert existing.read_text(encoding="utf-8") == "keep me\n"
    assert "--key-file" in error(run("user", "add", "cron", "--service", *team.owner), 2)
    assert "--service" in error(run("user", "add", "cron", "--key-file", "x.key", *team.owner), 2)
    both = run("list", *team.owner, env={"CONTACTVAULT_SERVICE_KEY": key})
    assert "not both" in error(both, 2)
    with Vault.open(team.location, OWNER_PASSPHRASE, user="owner") as vault:
        assert [u.name for u in vault.users()] == ["owner", "recovery key", "web"]


def test_commands_that_open_twice_use_the_service_key(team: Team, terminal):
    """`erase` without --yes opens the vault twice: both times with the service key, nothing asked."""
    key = ok("user", "add", "web", "--service", "--key-file", "-", *team.owner).stdout.strip()
    with Vault.open(team.location, service_key=key) as vault:
        target = next(iter(vault)).id
    env = {"CONTACTVAULT_SERVICE_KEY": key}
    ok("erase", target.hex[:8], "--vault", team.location, input="y\n", env=env)
    with Vault.open(team.location, service_key=key) as vault:
        assert len(vault) == len(NAMES) - 1
    assert os.environ.get("CONTACTVAULT_SERVICE_KEY") is None


def test_restore_opens_the_backup_as_the_user_named(team: Team):
    """In a vault with several users, `restore --user alice` opens the backup with alice's passphrase."""
    add_alice(team)
    backup = team.folder / "backup.db"
    ok("backup", str(backup), *team.alice)
    restored = team.folder / "restored.db"
    as_nobody = ["--vault", team.location, "--passphrase-file", str(team.owner_file)]
    several = run("restore", str(backup), str(restored), *as_nobody)
    assert "2 users" in error(several, 3)
    assert not restored.exists()
    ok("restore", str(backup), str(restored), *team.alice)
    users = json.loads(ok("user", "list", "--json", "--vault", str(restored), *team.alice[2:]).stdout)
    assert [u["name"] for u in users if u["you"]] == ["alice"]
