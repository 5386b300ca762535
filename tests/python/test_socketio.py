"""The official python-socketio client against the real eddy binary."""
import queue
import threading

import pytest
import requests
import socketio

PATH = "/apps/demo/socket.io"
WAIT = 5


def client(**kwargs):
    sio = socketio.Client(reconnection=kwargs.pop("reconnection", False), **kwargs)
    inbox = queue.Queue()
    for name in ("auth", "message-back", "room-message"):
        sio.on(name, lambda *args, name=name: inbox.put((name, args)))
    return sio, inbox


def expect(inbox, name):
    got_name, args = inbox.get(timeout=WAIT)
    assert got_name == name, (got_name, args)
    return args


@pytest.mark.parametrize("transports", [["websocket"], ["polling"], ["polling", "websocket"]])
def test_connect_emit_ack_and_binary(server, transports):
    sio, inbox = client()
    sio.connect(server.url, socketio_path=PATH, transports=transports, auth={"token": "py"}, wait_timeout=WAIT)
    assert expect(inbox, "auth") == ({"token": "py"},)
    assert sio.call("message-with-ack", {"a": [1, 2]}, timeout=WAIT) == {"a": [1, 2]}
    sio.emit("message", ("hello", 42))
    assert expect(inbox, "message-back") == ("hello", 42)
    blob = bytes(range(256))
    sio.emit("message", blob)
    assert expect(inbox, "message-back") == (blob,)
    assert sio.call("message-with-ack", b"\x00\xff", timeout=WAIT) == b"\x00\xff"
    sio.disconnect()


def test_server_to_client_ack(server):
    """A backend asks a client through the tenant API and gets its ack."""
    secret = server.admin("POST", "/apps/demo/secret")["secret"]
    sio, inbox = client()
    sio.on("question", lambda n: {"double": n * 2})
    sio.connect(server.url, socketio_path=PATH, transports=["websocket"], wait_timeout=WAIT)
    expect(inbox, "auth")
    reply = requests.post(
        f"{server.url}/apps/demo/api/v1/emit",
        headers={"authorization": f"Bearer {secret}"},
        json={"socket": sio.get_sid(), "event": "question", "args": [21], "ack_timeout_ms": 3000},
        timeout=WAIT,
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["ack"] == [{"double": 42}]
    sio.disconnect()


def test_room_broadcast(server):
    members = []
    for transports in (["websocket"], ["polling"]):
        sio, inbox = client()
        sio.connect(server.url, socketio_path=PATH, transports=transports, wait_timeout=WAIT)
        expect(inbox, "auth")
        members.append((sio, inbox))
    (alice, alice_inbox), (bob, bob_inbox) = members
    assert alice.call("join", "py-room", timeout=WAIT) == 1
    assert bob.call("join", "py-room", timeout=WAIT) == 2
    assert alice.call("to-room", ("py-room", "hi", {"n": 1}), timeout=WAIT) == 1
    assert expect(bob_inbox, "room-message") == ("hi", {"n": 1})
    alice.call("message-with-ack", "sync", timeout=WAIT)
    assert alice_inbox.empty()
    alice.disconnect()
    bob.disconnect()


def test_refused_namespace(server):
    sio = socketio.Client(reconnection=False)
    errors = queue.Queue()
    sio.on("connect_error", errors.put, namespace="/random")
    with pytest.raises(socketio.exceptions.ConnectionError):
        sio.connect(server.url, socketio_path=PATH, namespaces=["/random"], wait_timeout=WAIT)
    assert errors.get(timeout=WAIT) == {"message": "Invalid namespace"}


def test_unknown_app_is_404(server):
    reply = requests.get(f"{server.url}/apps/nope/socket.io/", params={"EIO": "4", "transport": "polling"}, timeout=WAIT)
    assert reply.status_code == 404
    assert reply.json()["code"] == "unknown_app"


@pytest.mark.parametrize("transports", [["websocket"], ["polling"]])
def test_reconnects_after_the_server_closes(start_server, transports):
    first = start_server()
    sio, inbox = client(reconnection=True, reconnection_delay=0.1, reconnection_delay_max=0.2)
    reconnected = threading.Event()
    connects = []

    @sio.event
    def connect():
        connects.append(sio.sid)
        if len(connects) == 2:
            reconnected.set()

    sio.connect(first.url, socketio_path=PATH, transports=transports, wait_timeout=WAIT)
    expect(inbox, "auth")
    assert first.stop() == 0
    start_server(port=first.port)
    assert reconnected.wait(10), "did not reconnect"
    assert connects[0] != connects[1]
    assert sio.call("message-with-ack", "again", timeout=WAIT) == "again"
    sio.disconnect()
