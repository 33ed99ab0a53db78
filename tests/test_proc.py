import sys

import pytest

from coda_restore import proc
from coda_restore.errors import CommandFailed
from children import HANGING_WRAPPER, within


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


# --- process groups: a wrapper's children are stopped with it (issue 13, item 1) ---

def _no_process(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def test_killing_a_wrapper_stops_the_child_it_forked_and_closes_the_pipe():
    import time

    child = proc.Child(HANGING_WRAPPER, stdout=proc.subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not child.stderr_tail.strip() and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = int(child.stderr_tail.split()[0])
    child.kill()
    assert within(10, child.stdout.read) == b""  # nobody holds the pipe any more
    assert within(10, lambda: child.wait(check=False)) == -9
    assert _no_process(grandchild)


def test_a_timeout_stops_a_short_command_with_everything_it_started():
    with pytest.raises(CommandFailed, match="timed out after 1 s"):
        within(15, lambda: proc.run(HANGING_WRAPPER, timeout=1))


def test_a_child_printing_bytes_that_are_not_utf8_is_shown_not_a_traceback():
    done = proc.run([sys.executable, "-c", "import os; os.write(1, b'V\\xff\\xfe'); os.write(2, b'\\xc3')"])
    assert done.stdout == "V\ufffd\ufffd" and done.stderr == "\ufffd"
