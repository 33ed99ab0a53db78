"""The restore's proof and the server's failures, from literal inputs: what a
dump back must agree on, and what volutil's stderr means (ref §23)."""

from __future__ import annotations

import dataclasses
import io

from coda_restore.volutil import explain, one_line
from coda_restore.voldump.contents import contents, differences
import voldump_vectors as V


def test_volutils_two_line_stderr_is_one_line_without_the_binding_noise():
    err = "V_BindToServer: binding to host fs1\nVolRestore failed with Unknown RPC2 return code 604\n"
    assert one_line(err) == "VolRestore failed with Unknown RPC2 return code 604"


def test_return_codes_are_told_apart():
    line = "V_BindToServer: binding to host fs1\nVolRestore failed with Unknown RPC2 return code {}\n"
    assert explain(line.format(604)).startswith("the volume id is already in use (")
    assert explain(line.format(603)).startswith("no such volume (")
    assert explain(line.format(700)).startswith("the server failed the call (VFAIL")
    assert explain(line.format(12345)) == "VolRestore failed with Unknown RPC2 return code 12345"


def test_a_size_failure_is_the_servers_and_a_dead_server_is_dead():
    size = ("V_BindToServer: binding to host fs1\nReadDump: Error RPC2_SEFAIL2 (F) in CheckSideEffect\n"
            "VolRestore failed with Unknown RPC2 return code 700\n")
    assert "failed to read a dump this size" in explain(size) and "not the image's" in explain(size)
    dead = "V_BindToServer: binding to host fs1\nVolRestore failed with RPC2_DEAD (F)\n"
    assert explain(dead) == "the server is dead or unreachable (VolRestore failed with RPC2_DEAD (F))"
    assert explain("V_BindToServer: RPC2_NOBINDING (F)\n").startswith("the server is dead or unreachable")


def _contents(data: bytes):
    return contents(io.BytesIO(data), "test")


def _f1(root_acl=V.ACL, a_txt=b"hello world\n", extra_root=()):
    large, small = V.f1_parts()
    large[0] = V.directory(1, 1, V.ROOT_F + list(extra_root), acl=root_acl)
    small[0] = V.file(2, 3, a_txt)
    return V.build(V.header(), V.volume(), large, small)


def test_the_same_image_agrees_and_acls_compare_as_sets():
    reordered = b"2\n0\nSystem:Administrators\t127\nSystem:AnyUser\t9\n\0"
    assert differences(_contents(V.f1()), _contents(_f1(root_acl=reordered))) == []


def test_what_a_dump_back_must_agree_on():
    sent = _contents(V.f1())
    assert differences(sent, _contents(_f1(a_txt=b"hello_world\n"))) == ["vnode 2.3: differs in bytes"]
    stale_acl = b"1\n0\nSystem:AnyUser\t9\n\0"
    assert differences(sent, _contents(_f1(root_acl=stale_acl))) == ["vnode 1.1: differs in acl"]
    renamed = _f1(extra_root=[(b"again", (2, 3))])
    assert differences(sent, _contents(renamed)) == ["vnode 1.1: differs in names"]
    large, small = V.f1_parts()
    fewer = V.build(V.header(), V.volume(), large, small[:-1])
    assert differences(sent, _contents(fewer)) == ["files and symlinks: 5 sent, 4 on the server",
                                                   "vnode 12.21: missing on the server"]
    assert differences(_contents(fewer), sent) == ["files and symlinks: 4 sent, 5 on the server",
                                                   "vnode 12.21: on the server but not sent"]


def test_an_old_raw_acl_that_comes_back_as_text_is_not_called_a_difference():
    large, small = V.f1_parts()
    large[1] = V.directory(3, 2, [(b"b.txt", (4, 4))], acl=None)
    large[1] = dataclasses.replace(large[1], acl_raw=bytes(384))
    sent = _contents(V.build(V.header(), V.volume(), large, small))
    assert differences(sent, _contents(V.f1())) == []


def test_the_acl_names_of_a_dump():
    assert _contents(V.f1()).acl_names() == {"System:AnyUser", "System:Administrators"}
