import sys

import pytest

from coda_restore import proc
from coda_restore.errors import CommandFailed


def test_arguments_with_spaces_and_quotes_reach_the_child_unchanged():
    odd = "/my documents/it's \"quoted\" $HOME;rm"
    done = proc.run([sys.executable, "-c", "import sys; print(sys.argv[1])", odd])
    assert done.stdout == odd + "\n"


def test_a_failed_child_names_its_argv_status_and_stderr():
    with pytest.raises(CommandFailed) as err:
        proc.run([sys.executable, "-c", "import sys; sys.stderr.write('tape jammed'); sys.exit(3)"])
    assert err.value.status == 3
    assert "tape jammed" in str(err.value)
    assert "exited with status 3" in str(err.value)


def test_a_missing_program_is_a_clean_error():
    with pytest.raises(CommandFailed, match="command not found"):
        proc.run(["/nonexistent/amgetconf", "x"])


def test_display_quotes_for_a_shell():
    assert proc.display(["amfetchdump", "CONF", "host", "/my disk"]) == "amfetchdump CONF host '/my disk'"


def test_a_streaming_child_keeps_the_tail_of_a_large_stderr_without_blocking():
    script = "import sys; sys.stderr.write('x' * 200000 + 'END'); sys.stdout.write('data'); sys.exit(2)"
    child = proc.Child([sys.executable, "-c", script], stdout=proc.subprocess.PIPE)
    assert child.stdout.read() == b"data"
    with pytest.raises(CommandFailed) as err:
        child.wait()
    assert err.value.status == 2
    assert child.stderr_tail.endswith("END") and len(child.stderr_tail) == proc.STDERR_TAIL
