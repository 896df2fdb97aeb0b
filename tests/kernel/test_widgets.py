"""Comms and widgets through hops: the engine opens a widget comm, the frontend changes the widget,
and the engine sees the change, as with ipykernel alone."""
import uuid

from conftest import run


def test_a_widget_round_trips_through_hops(kernel):
    km, kc = kernel
    reply, out = run(kc, "import ipywidgets as w\nslider = w.IntSlider(value=3)\nslider")
    assert reply["status"] == "ok"
    opens = [c for t, c in out if t == "comm_open" and c["data"]["state"].get("_model_name") == "IntSliderModel"]
    assert opens, [t for t, _ in out]
    views = [c for t, c in out if t == "execute_result" and "application/vnd.jupyter.widget-view+json" in c["data"]]
    comm_id = opens[0]["comm_id"]
    assert views[0]["data"]["application/vnd.jupyter.widget-view+json"]["model_id"] == comm_id

    # The frontend moves the slider: a comm_msg on shell, as JupyterLab's widget manager sends it.
    msg = kc.session.msg("comm_msg", {"comm_id": comm_id, "data": {"method": "update", "state": {"value": 7},
                                                                    "buffer_paths": []}})
    kc.shell_channel.send(msg)
    _, out = run(kc, "slider.value")
    assert [c["data"]["text/plain"] for t, c in out if t == "execute_result"] == ["7"]

    kc.comm_info(target_name="jupyter.widget")
    comms = kc.get_shell_msg(timeout=10)["content"]["comms"]
    assert comm_id in comms


def test_a_frontend_comm_to_an_unknown_target_is_closed_by_the_engine(kernel):
    km, kc = kernel
    comm_id = uuid.uuid4().hex
    kc.shell_channel.send(kc.session.msg("comm_open", {"comm_id": comm_id, "target_name": "nobody", "data": {}}))
    seen = []
    while True:
        m = kc.get_iopub_msg(timeout=10)
        seen.append(m["msg_type"])
        if m["msg_type"] == "comm_close" and m["content"]["comm_id"] == comm_id:
            break
    reply, _ = run(kc, "1+1")  # the kernel goes on
    assert reply["status"] == "ok"
