#!/usr/bin/env python3
"""Write .proto sources for a FileDescriptorSet.

We use it to produce `proto/proto/**.proto` from the schema compiled into the real
Mesos 1.9.0 library (`../shared/ref-mesos/mesos-1.9.0-descriptors.pb`): the wire
schema is a fact we must reproduce exactly (names, numbers, types, labels,
defaults), and reading it from the binary is the one way to be sure of it. Only
the schema is written; no comments or other prose exist in a descriptor set.

usage: descriptors_to_proto.py SET.pb OUT_DIR
Google's well-known types and the third-party CSI spec (csi.v0, csi.v1) are
skipped: protoc ships the former, and we do not implement the latter.
"""
import os
import sys

from google.protobuf import descriptor_pb2 as d

SKIP = ("google.protobuf", "csi.v0", "csi.v1")
F = d.FieldDescriptorProto
SCALAR = {
    F.TYPE_DOUBLE: "double", F.TYPE_FLOAT: "float", F.TYPE_INT64: "int64",
    F.TYPE_UINT64: "uint64", F.TYPE_INT32: "int32", F.TYPE_FIXED64: "fixed64",
    F.TYPE_FIXED32: "fixed32", F.TYPE_BOOL: "bool", F.TYPE_STRING: "string",
    F.TYPE_BYTES: "bytes", F.TYPE_UINT32: "uint32", F.TYPE_SFIXED32: "sfixed32",
    F.TYPE_SFIXED64: "sfixed64", F.TYPE_SINT32: "sint32", F.TYPE_SINT64: "sint64",
}
LABEL = {F.LABEL_OPTIONAL: "optional", F.LABEL_REQUIRED: "required", F.LABEL_REPEATED: "repeated"}


def quote(s):
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20:
            out.append("\\%03o" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def type_of(f):
    if f.type in (F.TYPE_MESSAGE, F.TYPE_ENUM):
        return f.type_name
    return SCALAR[f.type]


def default_of(f):
    if not f.HasField("default_value"):
        return None
    v = f.default_value
    if f.type == F.TYPE_STRING:
        return quote(v)
    if f.type == F.TYPE_BYTES:
        return '"' + v + '"'  # already C-escaped by protoc
    return v


def field_line(f, syntax, maps, in_oneof):
    opts = []
    dv = default_of(f)
    if dv is not None:
        opts.append("default = " + dv)
    if f.options.HasField("packed"):
        opts.append("packed = " + ("true" if f.options.packed else "false"))
    if f.options.deprecated:
        opts.append("deprecated = true")
    suffix = (" [" + ", ".join(opts) + "]") if opts else ""
    if f.type == F.TYPE_MESSAGE and f.type_name in maps:
        k, v = maps[f.type_name]
        return "map<%s, %s> %s = %d%s;" % (type_of(k), type_of(v), f.name, f.number, suffix)
    label = LABEL[f.label]
    if in_oneof or (syntax == "proto3" and label == "optional" and not f.proto3_optional):
        label = ""
    prefix = (label + " ") if label else ""
    return "%s%s %s = %d%s;" % (prefix, type_of(f), f.name, f.number, suffix)


def enum_lines(e, ind):
    out = [ind + "enum %s {" % e.name]
    if e.options.allow_alias:
        out.append(ind + "  option allow_alias = true;")
    for v in e.value:
        opt = " [deprecated = true]" if v.options.deprecated else ""
        out.append(ind + "  %s = %d%s;" % (v.name, v.number, opt))
    out.append(ind + "}")
    return out


def message_lines(m, scope, syntax, ind):
    name = scope + "." + m.name
    maps = {}
    for n in m.nested_type:
        if n.options.map_entry:
            maps[name + "." + n.name] = (n.field[0], n.field[1])
    out = [ind + "message %s {" % m.name]
    for e in m.enum_type:
        out += enum_lines(e, ind + "  ")
    for n in m.nested_type:
        if not n.options.map_entry:
            out += message_lines(n, name, syntax, ind + "  ")
    emitted_oneofs = set()
    for f in m.field:
        if f.HasField("oneof_index") and not f.proto3_optional:
            i = f.oneof_index
            if i in emitted_oneofs:
                continue
            emitted_oneofs.add(i)
            out.append(ind + "  oneof %s {" % m.oneof_decl[i].name)
            for g in m.field:
                if g.HasField("oneof_index") and g.oneof_index == i:
                    out.append(ind + "    " + field_line(g, syntax, maps, True))
            out.append(ind + "  }")
        else:
            out.append(ind + "  " + field_line(f, syntax, maps, False))
    out.append(ind + "}")
    return out


def render(fd):
    syntax = fd.syntax or "proto2"
    out = [
        "// Generated from the Mesos 1.9.0 wire schema by proto/tools/descriptors_to_proto.py.",
        "// The schema is a wire fact: keep names, numbers, types, labels and defaults as they are.",
        "",
        'syntax = "%s";' % syntax,
        "",
        "package %s;" % fd.package,
        "",
    ]
    for dep in fd.dependency:
        out.append('import "%s";' % dep)
    if fd.dependency:
        out.append("")
    scope = "." + fd.package if fd.package else ""
    for e in fd.enum_type:
        out += enum_lines(e, "") + [""]
    for m in fd.message_type:
        out += message_lines(m, scope, syntax, "") + [""]
    return "\n".join(out)


def main():
    s = d.FileDescriptorSet()
    with open(sys.argv[1], "rb") as fh:
        s.ParseFromString(fh.read())
    root = sys.argv[2]
    for fd in s.file:
        if fd.package.startswith(SKIP):
            continue
        path = os.path.join(root, fd.name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write(render(fd))
        print(path)


if __name__ == "__main__":
    main()
