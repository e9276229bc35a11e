#!/usr/bin/env python3
"""Generates control-plane/src/wire/tables/*.rs, the protobuf schema of the kinds Skiff decodes.

Sources, all for Kubernetes v1.33:
  * the Go type descriptors inside a kubectl 1.33 binary (k8s.io/api v0.33): field order, JSON
    names and `omitempty` from the struct tags, protobuf field numbers from the `protobuf:` tags,
    and whether a field is a pointer, slice, map or value. This is what the Go API server decodes
    into and then marshals as JSON, so the decoder reproduces its output exactly;
  * k8s-pb 0.9 (prost sources): cross-check of every field number and wire type;
  * k8s-openapi 0.29 (v1_33 sources): cross-check of every JSON field name.

Usage: gen_schema.py [--kubectl PATH] [--cargo-registry DIR]
Run from anywhere; writes next to this script. Fails on any cross-check mismatch.
"""
import argparse, glob, os, re, struct, sys

HERE = os.path.dirname(os.path.abspath(__file__))

# (Go package, Go type, apiVersion) of every top-level type a protobuf body may carry.
ROOTS = [
    ('k8s.io/api/core/v1', 'Namespace', 'v1'),
    ('k8s.io/api/core/v1', 'Node', 'v1'),
    ('k8s.io/api/core/v1', 'Pod', 'v1'),
    ('k8s.io/api/core/v1', 'Service', 'v1'),
    ('k8s.io/api/core/v1', 'Endpoints', 'v1'),
    ('k8s.io/api/core/v1', 'ConfigMap', 'v1'),
    ('k8s.io/api/core/v1', 'Secret', 'v1'),
    ('k8s.io/api/core/v1', 'ServiceAccount', 'v1'),
    ('k8s.io/api/core/v1', 'Event', 'v1'),
    ('k8s.io/api/core/v1', 'Binding', 'v1'),
    ('k8s.io/api/apps/v1', 'Deployment', 'apps/v1'),
    ('k8s.io/api/apps/v1', 'ReplicaSet', 'apps/v1'),
    ('k8s.io/api/apps/v1', 'DaemonSet', 'apps/v1'),
    ('k8s.io/api/discovery/v1', 'EndpointSlice', 'discovery.k8s.io/v1'),
    ('k8s.io/api/coordination/v1', 'Lease', 'coordination.k8s.io/v1'),
    ('k8s.io/api/policy/v1', 'Eviction', 'policy/v1'),
    ('k8s.io/api/autoscaling/v1', 'Scale', 'autoscaling/v1'),
    ('k8s.io/apimachinery/pkg/apis/meta/v1', 'DeleteOptions', 'meta.k8s.io/v1'),
]

META = 'k8s.io/apimachinery/pkg/apis/meta/v1'
# Types with their own protobuf and JSON encodings (decoded by hand in wire/special.rs).
SPECIAL = {
    (META, 'Time'): 'Time',
    (META, 'MicroTime'): 'MicroTime',
    (META, 'Duration'): 'Duration',
    (META, 'FieldsV1'): 'FieldsV1',
    ('k8s.io/apimachinery/pkg/api/resource', 'Quantity'): 'Quantity',
    ('k8s.io/apimachinery/pkg/util/intstr', 'IntOrString'): 'IntOrString',
    ('k8s.io/apimachinery/pkg/runtime', 'RawExtension'): 'RawExtension',
}

# Go package → (Rust module name, k8s-pb directory, OpenAPI definition prefix).
PACKAGES = {
    'k8s.io/api/core/v1': ('core_v1', 'api/core/v1', 'io.k8s.api.core.v1'),
    'k8s.io/api/apps/v1': ('apps_v1', 'api/apps/v1', 'io.k8s.api.apps.v1'),
    'k8s.io/api/discovery/v1': ('discovery_v1', 'api/discovery/v1', 'io.k8s.api.discovery.v1'),
    'k8s.io/api/coordination/v1': ('coordination_v1', 'api/coordination/v1', 'io.k8s.api.coordination.v1'),
    'k8s.io/api/policy/v1': ('policy_v1', 'api/policy/v1', 'io.k8s.api.policy.v1'),
    'k8s.io/api/autoscaling/v1': ('autoscaling_v1', 'api/autoscaling/v1', 'io.k8s.api.autoscaling.v1'),
    META: ('meta_v1', 'apimachinery/pkg/apis/meta/v1', 'io.k8s.apimachinery.pkg.apis.meta.v1'),
}


class GoBinary:
    """Reads runtime type descriptors (Go 1.24 abi.Type layout, amd64) from a stripped Go ELF."""

    KIND = {1: 'bool', 2: 'int', 5: 'int32', 6: 'int64', 8: 'uint8', 14: 'float64',
            21: 'map', 22: 'ptr', 23: 'slice', 24: 'string', 25: 'struct'}

    def __init__(self, path):
        self.data = open(path, 'rb').read()
        d = self.data
        if d[:4] != b'\x7fELF':
            sys.exit(f'{path}: not an ELF file')
        shoff, = struct.unpack_from('<Q', d, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from('<HHH', d, 0x3a)
        secs = [struct.unpack_from('<IIQQQQ', d, shoff + i * shentsize) for i in range(shnum)]
        self.secs = [(s[3], s[4], s[5]) for s in secs]
        stroff = secs[shstrndx][4]
        names = {d[stroff + s[0]:d.index(b'\0', stroff + s[0])].decode(): s for s in secs}
        # runtime.types starts the read-only data; type name offsets are relative to it.
        self.base = names['.rodata'][3]
        tl = names['.typelink']
        self.typelinks = [self.base + struct.unpack_from('<i', d, tl[4] + 4 * i)[0]
                          for i in range(tl[5] // 4)]

    def off(self, va):
        for addr, off, size in self.secs:
            if addr and addr <= va < addr + size:
                return va - addr + off
        raise ValueError(f'address {va:#x} outside the image')

    def u64(self, va):
        return struct.unpack_from('<Q', self.data, self.off(va))[0]

    def name(self, va):
        d, o = self.data, self.off(va)
        flags = d[o]
        o += 1

        def varint(o):
            v = s = 0
            while True:
                b = d[o]
                o += 1
                v |= (b & 0x7f) << s
                s += 7
                if b < 0x80:
                    return v, o
        n, o = varint(o)
        text = d[o:o + n].decode()
        o += n
        tag = ''
        if flags & 2:
            t, o = varint(o)
            tag = d[o:o + t].decode()
        return text, tag, bool(flags & 8)

    def kind(self, t):
        return self.KIND.get(self.data[self.off(t) + 23] & 0x1f, 'other')

    def type_name(self, t):
        tflag = self.data[self.off(t) + 20]
        str_off, = struct.unpack_from('<i', self.data, self.off(t) + 40)
        text = self.name(self.base + str_off)[0]
        return text[1:] if tflag & 2 else text

    def elem(self, t):
        return self.u64(t + 48)

    def map_value(self, t):
        return self.u64(t + 48), self.u64(t + 56)

    def pkg(self, t):
        """Package path of a named struct type (its uncommon type follows the struct type)."""
        if not self.data[self.off(t) + 20] & 1 or self.kind(t) != 'struct':
            return ''
        off, = struct.unpack_from('<i', self.data, self.off(t + 80))
        return self.name(self.base + off)[0]

    def fields(self, t):
        ptr, n = self.u64(t + 56), self.u64(t + 64)
        for i in range(n):
            f = ptr + 24 * i
            name, tag, embedded = self.name(self.u64(f))
            yield name, tag, self.u64(f + 8), embedded

    def find_struct(self, pkg, name):
        for t in self.typelinks:
            if self.kind(t) == 'ptr':
                e = self.elem(t)
                if self.kind(e) == 'struct' and self.type_name(e).split('.')[-1] == name \
                        and self.pkg(e) == pkg:
                    return e
        sys.exit(f'{pkg}.{name}: not found in the binary')


def tag_value(tag, key):
    m = re.search(key + r':"([^"]*)"', tag)
    return m.group(1) if m else None


def screaming(name):
    s = re.sub(r'(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])', '_', name)
    return s.upper()


class Walker:
    def __init__(self, go):
        self.go = go
        self.messages = {}  # (pkg, name) -> list of field dicts
        self.order = []

    def special_or_message(self, t):
        key = (self.go.pkg(t), self.go.type_name(t).split('.')[-1])
        if key in SPECIAL:
            return ('special', SPECIAL[key])
        if key[0] not in PACKAGES:
            sys.exit(f'{key}: package outside the schema')
        self.walk(t)
        return ('message', key)

    def scalar(self, t, where):
        k = self.go.kind(t)
        if k in ('string', 'bool', 'int32', 'int64', 'float64'):
            return ('scalar', {'float64': 'double'}.get(k, k))
        if k == 'slice' and self.go.kind(self.go.elem(t)) == 'uint8':
            return ('scalar', 'bytes')
        if k == 'struct':
            return self.special_or_message(t)
        sys.exit(f'{where}: unsupported Go kind {k} ({self.go.type_name(t)})')

    def walk(self, t):
        key = (self.go.pkg(t), self.go.type_name(t).split('.')[-1])
        if key in self.messages:
            return
        self.messages[key] = fields = []
        for name, tag, ft, embedded in self.go.fields(t):
            pb = tag_value(tag, 'protobuf')
            js = tag_value(tag, 'json')
            if pb is None or js is None or js == '-':
                continue
            where = f'{key[1]}.{name}'
            parts = pb.split(',')
            number = int(parts[1])
            json_name, *opts = js.split(',')
            omit = 'omitempty' in opts
            k = self.go.kind(ft)
            if json_name == '' and 'inline' in opts:
                shape, ty = 'Inline', self.special_or_message(ft)
            elif k == 'ptr':
                shape, ty = 'Pointer', self.scalar(self.go.elem(ft), where)
            elif k == 'slice' and self.go.kind(self.go.elem(ft)) != 'uint8':
                shape, ty = 'Repeated', self.scalar(self.go.elem(ft), where)
            elif k == 'map':
                kt, vt = self.go.map_value(ft)
                if self.go.kind(kt) != 'string':
                    sys.exit(f'{where}: map key is not a string')
                shape, ty = 'Map', self.scalar(vt, where)
            else:
                shape, ty = 'Value', self.scalar(ft, where)
            fields.append(dict(go=name, number=number, wire=parts[0], json=json_name,
                               omit=omit, shape=shape, ty=ty))
        self.order.append(key)


def prost_structs(path):
    """struct name (lowercased) -> {tag: (kind, label)} from prost attributes."""
    out, cur = {}, None
    for line in open(path):
        m = re.match(r'pub struct (\w+)', line)
        if m:
            cur = out.setdefault(m.group(1).lower(), {})
            continue
        m = re.search(r'#\[prost\((.*)tag = "(\d+)"', line)
        if m and cur is not None:
            attrs = [a.strip() for a in m.group(1).split(',') if a.strip()]
            cur[int(m.group(2))] = attrs
    return out


def openapi_names(root, definition):
    """JSON names k8s-openapi accepts for a definition (from its Deserialize impl)."""
    for path in glob.glob(os.path.join(root, '**', '*.rs'), recursive=True):
        with open(path) as f:
            text = f.read()
        if f'// Generated from definition {definition}\n' in text:
            return set(re.findall(r'^\s*"([A-Za-z0-9$]+)" => Field::Key_', text, re.M))
    return None


def cross_check(walker, pb_root, openapi_root):
    problems = []
    pb_cache = {}
    for key in walker.order:
        pkg, name = key
        mod, pb_dir, prefix = PACKAGES[pkg]
        if pb_dir not in pb_cache:
            pb_cache[pb_dir] = prost_structs(os.path.join(pb_root, pb_dir, 'mod.rs'))
        pb = pb_cache[pb_dir].get(name.lower())
        if pb is None:
            problems.append(f'{name}: not in k8s-pb')
            continue
        for f in walker.messages[key]:
            attrs = pb.get(f['number'])
            if attrs is None:
                problems.append(f'{name}.{f["go"]}: field {f["number"]} not in k8s-pb')
                continue
            kind = attrs[0].split('=')[0].strip()
            want = {'scalar': {'string': 'string', 'bool': 'bool', 'int32': 'int32',
                               'int64': 'int64', 'double': 'double', 'bytes': 'bytes'}
                    .get(f['ty'][1]), 'message': 'message', 'special': 'message'}[f['ty'][0]]
            if f['shape'] == 'Map':
                want = 'btree_map'
            repeated = 'repeated' in attrs
            if kind != want or repeated != (f['shape'] == 'Repeated'):
                problems.append(f'{name}.{f["go"]}: Go says {want}/{f["shape"]}, k8s-pb says {attrs}')
        names = openapi_names(openapi_root, f'{prefix}.{name}')
        if names is None:
            continue  # not an OpenAPI definition (e.g. an inlined part)
        ours = set()
        for f in walker.messages[key]:
            if f['shape'] == 'Inline':
                ours |= {g['json'] for g in walker.messages[f['ty'][1]]}
            else:
                ours.add(f['json'])
        ours |= {'apiVersion', 'kind'} & names
        if ours != names:
            problems.append(f'{name}: JSON names differ: only Go {sorted(ours - names)}, '
                            f'only k8s-openapi {sorted(names - ours)}')
    return problems


def rust_ty(ty, here):
    if ty[0] == 'scalar':
        return {'string': 'Ty::String', 'bool': 'Ty::Bool', 'int32': 'Ty::Int32',
                'int64': 'Ty::Int64', 'double': 'Ty::Double', 'bytes': 'Ty::Bytes'}[ty[1]]
    if ty[0] == 'special':
        return f'Ty::{ty[1]}'
    mod = PACKAGES[ty[1][0]][0]
    static = screaming(ty[1][1])
    return f'Ty::Message(&{static})' if mod == here else f'Ty::Message(&super::{mod}::{static})'


HEADER = '// Generated by control-plane/src/wire/gen_schema.py from Kubernetes v1.33 types; do not edit.\n'


def emit(walker):
    by_mod = {}
    for key in walker.order:
        by_mod.setdefault(PACKAGES[key[0]][0], []).append(key)
    written = []
    for mod, keys in sorted(by_mod.items()):
        lines = [HEADER, f'//! Protobuf schema of `{[p for p, v in PACKAGES.items() if v[0] == mod][0]}`.\n',
                 'use crate::wire::schema::{Field, Message, Shape, Ty};\n']
        for key in sorted(keys, key=lambda k: k[1]):
            static = screaming(key[1])
            prefix = PACKAGES[key[0]][2]
            lines.append(f'\n/// `{prefix}.{key[1]}`.')
            lines.append(f'pub(crate) static {static}: Message = Message {{')
            lines.append(f'    name: "{prefix}.{key[1]}",')
            lines.append('    fields: &[')
            for f in walker.messages[key]:
                lines.append(f'        Field::new({f["number"]}, "{f["json"]}", {rust_ty(f["ty"], mod)}, '
                             f'Shape::{f["shape"]}, {"true" if f["omit"] else "false"}),')
            lines.append('    ],')
            lines.append('};')
        path = os.path.join(HERE, 'tables', f'{mod}.rs')
        with open(path, 'w') as out:
            out.write('\n'.join(lines) + '\n')
        written.append(path)
    roots = [HEADER, '//! The protobuf schema tables, one module per API package, and the top-level kinds.\n']
    roots += [f'#[rustfmt::skip]\npub(crate) mod {m};' for m in sorted(by_mod)]
    roots.append('\nuse crate::wire::schema::Message;\n')
    roots.append('/// `(apiVersion, kind, message)` of every type a protobuf body may carry.')
    roots.append('#[rustfmt::skip]')
    roots.append('pub(crate) static ROOTS: &[(&str, &str, &Message)] = &[')
    for pkg, name, api_version in ROOTS:
        roots.append(f'    ("{api_version}", "{name}", &{PACKAGES[pkg][0]}::{screaming(name)}),')
    roots.append('];')
    path = os.path.join(HERE, 'tables', 'mod.rs')
    with open(path, 'w') as out:
        out.write('\n'.join(roots) + '\n')
    written.append(path)
    return written


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--kubectl', default='/usr/lib/google-cloud-sdk/bin/kubectl.1.33')
    ap.add_argument('--cargo-registry', default=os.path.expanduser('~/.cargo/registry/src'))
    args = ap.parse_args()
    pb_root = glob.glob(os.path.join(args.cargo_registry, '*', 'k8s-pb-0.9.0', 'src'))[0]
    openapi_root = glob.glob(os.path.join(args.cargo_registry, '*', 'k8s-openapi-0.29.0', 'src', 'v1_33'))[0]
    go = GoBinary(args.kubectl)
    walker = Walker(go)
    for pkg, name, _ in ROOTS:
        walker.walk(go.find_struct(pkg, name))
    problems = cross_check(walker, pb_root, openapi_root)
    if problems:
        sys.exit('cross-check failed:\n  ' + '\n  '.join(problems))
    for path in emit(walker):
        print('wrote', os.path.relpath(path))
    print(len(walker.order), 'messages,', sum(len(v) for v in walker.messages.values()), 'fields')


if __name__ == '__main__':
    main()
