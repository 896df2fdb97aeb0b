"""Clients and bad input: a second client attaches; input() round trips; messages with bad signatures
are dropped and logged, never executed; %hops mistakes name the closest valid spelling."""
import json
import time

from jupyter_client import BlockingKernelClient
from jupyter_client.session import Session

from conftest import run


def test_a_second_client_attaches_to_a_running_kernel(kernel):
    km, kc = kernel
    run(kc, "shared = 'from the first client'")
    other = BlockingKernelClient(connection_file=km.connection_file)
    other.load_connection_file()
    other.start_channels()
    try:
        other.wait_for_ready(timeout=30)
        reply, out = run(other, "print(shared)")
        assert ("stream", {"name": "stdout", "text": "from the first client\n"}) in out
        reply, out = run(other, "%hops version")
        assert reply["status"] == "ok" and "display_data" in [t for t, _ in out]
    finally:
        other.stop_channels()


def test_input_reaches_the_frontend_in_python_and_mixed_cells(kernel):
    km, kc = kernel
    for code in ["name = input('name? ')\nprint('hi', name)", "%hops version\nname = input('name? ')\nprint('hi', name)"]:
        prompts = []

        def answer(msg):
            prompts.append(msg["content"]["prompt"])
            kc.input("hops")
        reply, out = run(kc, code, allow_stdin=True, stdin_hook=answer)
        assert reply["status"] == "ok" and prompts == ["name? "]
        assert ("stream", {"name": "stdout", "text": "hi hops\n"}) in out


def test_a_message_with_a_bad_signature_is_dropped_and_logged(kernel, tmp_path):
    km, kc = kernel
    marker = tmp_path / "executed"
    forger = Session(key=b"not-the-key", username="mallory")
    msg = forger.msg("execute_request", {"code": f"open({str(marker)!r}, 'w').write('x')", "silent": False,
                                         "store_history": True, "user_expressions": {}, "allow_stdin": False})
    forger.send(kc.shell_channel.socket, msg)
    time.sleep(1)
    reply, _ = run(kc, "1+1")  # the kernel still serves honest clients
    assert reply["status"] == "ok"
    assert not marker.exists()
    assert "bad HMAC signature" in kc.log_path.read_text()


def test_unknown_command_and_flag_name_the_closest_valid_one(kernel):
    km, kc = kernel
    for code, expected in [("%hops verison", "`%hops version`"), ("%hops env --grp torch", "--grep"),
                           ("%hops", "%hops help"), ("%hops env --grep 'torch", "unterminated")]:
        reply, out = run(kc, code)
        assert reply["status"] == "error" and reply["ename"] == "UsageError", code
        errors = [c for t, c in out if t == "error"]
        assert len(errors) == 1 and expected in errors[0]["evalue"], (code, errors)


def test_stop_on_error_aborts_what_was_queued_behind_a_failed_hops_cell(kernel):
    km, kc = kernel
    bad = kc.execute("%hops nope", stop_on_error=True)
    queued = kc.execute("print('should not run')")
    replies = {}
    while len(replies) < 2:
        m = kc.get_shell_msg(timeout=30)
        replies[m["parent_header"]["msg_id"]] = m["content"]["status"]
    assert replies == {bad: "error", queued: "aborted"}


def test_comm_info_and_completion_pass_through_to_the_engine(kernel):
    km, kc = kernel
    kc.comm_info()
    assert kc.get_shell_msg(timeout=10)["content"]["status"] == "ok"
    kc.complete("import jso", 10)
    assert "json" in kc.get_shell_msg(timeout=10)["content"]["matches"]
    kc.inspect("%hops env", 3)
    reply = kc.get_shell_msg(timeout=10)["content"]
    assert reply["found"] and "--grep" in json.dumps(reply["data"])


def test_a_misplaced_cell_magic_is_a_usage_error(kernel):
    km, kc = kernel
    reply, out = run(kc, "x = 1\n%%hops version")
    assert reply["ename"] == "UsageError" and "first line of its cell" in reply["evalue"]


def test_hops_cells_are_in_the_history_and_counted(kernel):
    km, kc = kernel
    first, _ = run(kc, "%hops version")
    kc.history(hist_access_type="tail", n=1, raw=True, output=False)
    assert kc.get_shell_msg(timeout=10)["content"]["history"][-1][1:] == [first["execution_count"], "# %hops version"]
    second, _ = run(kc, "1+1")
    assert second["execution_count"] == first["execution_count"] + 1


def test_run_all_stops_at_a_failing_python_cell(kernel):
    """JupyterLab's Run All sends every cell at once: after a failing Python cell, the %hops and
    Python cells queued behind it are aborted, as ipykernel alone would abort them."""
    km, kc = kernel
    ids = [kc.execute("import time; time.sleep(0.5); 1/0", stop_on_error=True),
           kc.execute("%hops version", stop_on_error=True),
           kc.execute("print('nope')", stop_on_error=True)]
    replies = {}
    while len(replies) < 3:
        m = kc.get_shell_msg(timeout=30)
        replies[m["parent_header"]["msg_id"]] = m["content"]["status"]
    assert [replies[i] for i in ids] == ["error", "aborted", "aborted"]
    reply, _ = run(kc, "%hops version")  # later cells run again
    assert reply["status"] == "ok"


def test_hops_cell_after_a_comm_message_runs(kernel):
    """Comm messages get no reply, only busy/idle: a %hops cell queued behind one must not wait for a
    reply that never comes (JupyterLab's widget manager sends comm messages at any time)."""
    km, kc = kernel
    msg = kc.session.msg("comm_open", {"comm_id": "c-test", "target_name": "no-such-target", "data": {}})
    kc.shell_channel.send(msg)
    reply, _ = run(kc, "%hops version")
    assert reply["status"] == "ok"
