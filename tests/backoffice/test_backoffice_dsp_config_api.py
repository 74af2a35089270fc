"""The configuration API on the DUIS port (`/gbhan/v1/`): users and their endpoints, devices.

In process over real HTTP: users listed with role, endpoint and whether added by
configuration; an endpoint set, read back and kept in the state directory, then cleared;
devices listed with type and premises (generated households too); each refusal a JSON
error with 400 (bad EUI, URL or body) or 404 (no such user). As processes: the DNO's endpoint
changed with `gbhan dsp users endpoint` while `gbhan dsp serve` runs (whose SMKI port also
serves DCC Boxed's org-crypto.zip), a 7.7's answer then
arriving there, and the change still there after a restart.
"""

from __future__ import annotations

import io
import os
import signal
import urllib.request
import zipfile

import aiohttp
from backoffice_helpers import DCCBOXED, RTDS, SCHEMA, free_port
from dsp_helpers import GBCS_DATE, RTDS_KEYSTORE
from test_backoffice_dsp_state import run_as_dno, serve
from test_backoffice_dsp_users import USERS

from emulator.backoffice import service
from emulator.backoffice.assembly import make_dsp
from emulator.backoffice.inventory import ELECTRICITY_DISTRIBUTOR, SUPPLIER, PremisesRecord
from emulator.backoffice.premises_factory import GeneratedHousehold
from emulator.backoffice.state import DspState
from emulator.backoffice.userconfig import load_toml
from emulator.clock import Clock
from tools import cli

DNO = "90-B3-D5-1F-30-02-00-00"


def test_the_configuration_api_in_process(tmp_path):
    state = DspState.open(tmp_path / "state", [RTDS_KEYSTORE, DCCBOXED], GBCS_DATE)
    for user in load_toml(USERS / "dccboxed_other_user.toml"):
        state.add_user(user)
    clock = Clock("wall", start_utc=GBCS_DATE)

    async def main():
        dsp = make_dsp(schema_dir=SCHEMA, dccboxed=DCCBOXED, rtds=RTDS,
                       rtds_keystore=RTDS_KEYSTORE, clock=clock, state=state)  # fmt: skip
        dsp.inventory.add_premises(
            PremisesRecord(GeneratedHousehold(1).name, SUPPLIER, ELECTRICITY_DISTRIBUTOR)
        )
        for device in GeneratedHousehold(1).devices():
            dsp.inventory.add(device)
        runner = await service.start(dsp, "127.0.0.1", 0, persist=state.set_endpoint,
                                     configured=lambda: {u.eui for u in state.users()})  # fmt: skip
        base = f"http://127.0.0.1:{service.bound_port(runner)}/gbhan/v1"
        seen = {}
        try:
            async with aiohttp.ClientSession() as http:

                async def call(method, path, body=None):
                    async with http.request(method, base + path, json=body) as reply:
                        return reply.status, await reply.json()

                seen["users"] = await call("GET", "/users")
                seen["set"] = await call("PUT", "/users/90B3D51F30020000/endpoint",
                                         {"endpoint": "http://127.0.0.1:9/dno"})  # fmt: skip
                seen["get"] = await call("GET", f"/users/{DNO}/endpoint")
                seen["stored"] = state.endpoints().get(bytes.fromhex("90B3D51F30020000"))
                seen["in use"] = dsp.users.get(bytes.fromhex("90B3D51F30020000")).endpoint
                seen["bad url"] = await call("PUT", f"/users/{DNO}/endpoint",
                                             {"endpoint": "file:///etc/passwd"})  # fmt: skip
                seen["bad body"] = await call("PUT", f"/users/{DNO}/endpoint", ["x"])
                seen["no user"] = await call("GET", "/users/00-DB-12-34-56-78-00-09/endpoint")
                seen["bad eui"] = await call("GET", "/users/nonsense/endpoint")
                seen["clear"] = await call("PUT", f"/users/{DNO}/endpoint", {"endpoint": None})
                seen["cleared"] = state.endpoints().get(bytes.fromhex("90B3D51F30020000"))
                seen["devices"] = await call("GET", "/devices")
                async with http.put(base + f"/users/{DNO}/endpoint", data=b"{") as reply:
                    seen["not json"] = reply.status
        finally:
            await runner.cleanup()
        return seen

    try:
        seen = clock.run(main)
    finally:
        state.close()
    status, users = seen["users"]
    assert status == 200
    by_eui = {u["eui"]: u for u in users}
    assert by_eui[DNO]["role"] == "ED" and by_eui[DNO]["configured"] is False
    assert by_eui[DNO]["roles"] == ["ED", "GT"]  # one user ID, two roles (its main one first)
    assert by_eui["90-B3-D5-1F-30-01-00-00"]["role"] == "IS"
    assert by_eui["00-DB-12-34-56-78-00-04"] == {"eui": "00-DB-12-34-56-78-00-04", "role": "OU",
                                                 "roles": ["OU"], "name": "other",
                                                 "endpoint": None,
                                                 "configured": True}  # fmt: skip
    assert seen["set"] == (200, {"eui": DNO, "endpoint": "http://127.0.0.1:9/dno"})
    assert seen["get"] == seen["set"]
    assert seen["stored"] == seen["in use"] == "http://127.0.0.1:9/dno"
    assert seen["bad url"][0] == 400 and "http(s) URL" in seen["bad url"][1]["error"]
    assert seen["bad body"][0] == 400 and seen["not json"] == 400
    assert seen["no user"] == (404, {"error": "no user 00-DB-12-34-56-78-00-09"})
    assert seen["bad eui"][0] == 400 and "error" in seen["bad eui"][1]
    assert seen["clear"] == (200, {"eui": DNO, "endpoint": None}) and seen["cleared"] is None
    status, devices = seen["devices"]
    kinds = {d["eui"]: (d["type"], d["premises"]) for d in devices}
    assert kinds["00-DB-12-34-56-78-90-A0"] == ("esme", "rtds-premises")
    assert kinds["00-DB-12-34-56-00-01-B3"] == ("hcalcs", "gbhan-household-1")


def test_users_endpoint_changes_a_running_dsp(tmp_path, schema, trusted, capsys):
    state, listen = tmp_path / "state", free_port()
    server, url, smki = serve(state, None)
    try:
        with urllib.request.urlopen(smki + "/assets/crypto/org-crypto.zip", timeout=10) as got:
            bundle = zipfile.ZipFile(io.BytesIO(got.read()))  # the SMKI port serves it too
        assert "org-crypto/key/Z1-supplier-ds.key" in bundle.namelist()
        assert cli.main(["dsp", "users", "endpoint", DNO, f"http://127.0.0.1:{listen}/",
                         "--url", url]) == 0  # fmt: skip
        answers = run_as_dno(url, listen, 5200, schema, trusted)
        assert cli.main(["dsp", "users", "endpoint", "nonsense", "--url", url]) == 2
        assert cli.main(["dsp", "users", "endpoint", DNO, "ftp://x/", "--url", url]) == 2
        assert cli.main(["dsp", "users", "endpoint", "00DB123456780009", "--url", url]) == 1
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait(10)
    assert [a.code for a in answers] == ["I0", "I99", "I0"]  # 7.6's answer reached it
    server, url, _smki = serve(state, None)
    try:
        capsys.readouterr()
        assert cli.main(["dsp", "users", "endpoint", DNO, "--url", url]) == 0
        shown = capsys.readouterr().out
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait(10)
    assert shown.strip() == f"{DNO}  http://127.0.0.1:{listen}/"
    assert cli.main(["dsp", "users", "endpoint", DNO, "--url", url]) == 1  # nobody there
