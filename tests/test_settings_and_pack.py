"""Configuration order and the offline pack's integrity."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from playground.pack.build import status
from playground.pack.entries import TIKTOKEN_FILES, Pack
from playground.settings import PROJECT_DIR, Settings


def test_defaults_and_environment(tmp_path):
    s = Settings.from_env({}, dotenv_path=tmp_path / "none")
    assert (s.host, s.port, s.max_input_chars, s.offline) == ("127.0.0.1", 7860, 200_000, None)
    s = Settings.from_env({"PLAYGROUND_PORT": "9000", "PLAYGROUND_OFFLINE": "true", "PLAYGROUND_MAX_INPUT_CHARS": "50"},
                          dotenv_path=tmp_path / "none")
    assert (s.port, s.offline, s.max_input_chars) == (9000, True, 50)


def test_dotenv_is_read_and_the_environment_wins(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("PLAYGROUND_PORT=7000\nOPENAI_API_KEY=sk-from-dotenv\nPLAYGROUND_HOST=0.0.0.0\n")
    s = Settings.from_env({"PLAYGROUND_PORT": "7001"}, dotenv_path=dotenv)
    assert s.port == 7001 and s.host == "0.0.0.0" and s.openai_api_key == "sk-from-dotenv"


def test_cli_flags_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_PORT", "7002")
    s = Settings.from_args(["--port", "7003", "--offline", "--host", "0.0.0.0", "--share"])
    assert (s.port, s.offline, s.host, s.share) == (7003, True, "0.0.0.0", True)
    assert Settings.from_args([]).port == 7002


def test_a_bad_flag_value_names_the_setting_and_the_problem(capsys):
    with pytest.raises(SystemExit):
        Settings.from_args(["--port", "abc"])
    err = capsys.readouterr().err  # it used to read "invalid <lambda> value: 'abc'"
    assert "argument --port: setting port: invalid literal for int()" in err and "lambda" not in err


def test_a_space_listens_everywhere_and_refuses_typed_models(tmp_path):
    s = Settings.from_env({"SPACE_ID": "someone/playground"}, dotenv_path=tmp_path / "none")
    assert s.host == "0.0.0.0" and not s.allow_custom_models and not s.allow_custom_base_url


def test_bad_values_name_the_setting(tmp_path):
    with pytest.raises(ValueError, match="offline"):
        Settings.from_env({"PLAYGROUND_OFFLINE": "perhaps"}, dotenv_path=tmp_path / "none")
    with pytest.raises(ValueError, match="user:password"):
        _ = Settings(auth="nocolon").auth_pair


def test_secrets_stay_out_of_repr():
    s = Settings(openai_api_key="sk-secret-123", auth="teacher:hunter2")
    assert "sk-secret-123" not in repr(s) and "hunter2" not in repr(s)


# --- the offline pack ----------------------------------------------------------------------


def test_pack_is_complete(settings):
    assert all(status(settings).values()), status(settings)


@pytest.mark.parametrize(("encoding", "prefix"), [("o200k_base", "446a9538"), ("cl100k_base", "223921b7"),
                                                   ("r50k_base", "306cd27f")])
def test_tiktoken_files_carry_tiktokens_own_hash(settings, encoding, prefix):
    file = TIKTOKEN_FILES[encoding]
    assert file.sha256.startswith(prefix) and file.url.endswith(f"{encoding}.tiktoken")
    path = Pack(settings).tiktoken_file(encoding)
    assert path.name == hashlib.sha1(file.url.encode()).hexdigest()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == file.sha256


def test_the_pack_names_the_files_tiktoken_itself_reads():
    """The url and hash of each file are tiktoken's own (read from its registry's source, never patched)."""
    import inspect

    import tiktoken_ext.openai_public as public

    for encoding, file in TIKTOKEN_FILES.items():
        source = inspect.getsource(getattr(public, encoding))
        assert f'"{file.url}"' in source and f'expected_hash="{file.sha256}"' in source, encoding


def test_tiktoken_loads_the_pack_with_no_network(settings, tmp_path):
    """A fresh process, the pack as its cache, every proxy pointing nowhere: tiktoken still loads."""
    code = "import tiktoken; print(tiktoken.encoding_for_model('gpt-4.1-mini').encode('hello world'))"
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(settings.tiktoken_dir),
           "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[24912, 2375]"


def test_pack_build_is_idempotent_and_fast_when_done():
    out = subprocess.run([sys.executable, "-m", "playground.pack", "build"], cwd=PROJECT_DIR,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("present") >= 8 and "built" not in out.stdout
