"""Every bad input gives a diagnostic naming the file, line, column and field, and exit code 1."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kvmstate.cli import application

app = application()

GOOD_NET = "networks:\n  lab:\n    mode: nat\n    ipv4: 192.168.150.0/24\n"

# (file name, content, summary, line, column, text that must appear in the detail)
CASES = [
    ("mac_twice.yaml", "networks:\n  n: {mode: isolated}\ndomains:\n  a:\n    interfaces: [{network: n, mac: "
     "'52:54:00:00:00:01'}]\n  b:\n    interfaces:\n      - network: n\n        mac: '52:54:00:00:00:01'\n",
     "Duplicate value", 9, 9, 'domain.b sets "interfaces[0].mac" to 52:54:00:00:00:01, which domain.a already uses'),
    ("syntax.yaml", "networks:\n  lab: [\n    mode: nat\n", "Invalid YAML", 4, 1, "Expected ',' or ']'"),
    ("output_index.hcl", 'pool "p" {\n  path = "/srv"\n}\noutput "o" {\n  value = pool[0]\n}\n', "Unknown reference",
     5, 11, "pool[...] is neither a variable nor a resource"),
    ("unquoted_for.yaml", 'locals:\n  names: ${[for i in range(2) : format("web-%02d", i)]}\n', "Invalid YAML", 2,
     31, "inside an expression, whose `: ` or braces YAML reads as its own: quote the whole value"),
    ("syntax.hcl", 'network "lab" {\n  mode = \n}\n', "Invalid HCL", 2, 10, "a value is missing"),
    # Numbers beyond what kvmstate computes with (infinity, NaN) stop where they are written, not in a function.
    ("huge_literal.hcl", 'locals {\n  n = ceil(1e400)\n}\n', "Value too large", 2, 12, "1e400 is larger than 1e+300"),
    ("inf.yaml", "variables:\n  x:\n    default: .inf\nlocals:\n  y: ${range(var.x)}\n", "Number out of range", 3,
     14, "is not a number kvmstate computes with"),
    ("unclosed.hcl", 'network "lab" {\n  mode = "nat"\n', "Invalid HCL", None, None, "closing brace"),
    ("unknown.yaml", GOOD_NET + "    autostrat: true\n", "Unknown attribute", 5, 5, 'Did you mean "autostart"'),
    ("unknown.hcl", 'network "lab" {\n  mode = "nat"\n  ipv4 = "10.0.0.0/24"\n  brigde = "x"\n}\n',
     "Unknown attribute", 4, 3, 'Did you mean "bridge"'),
    ("nested.yaml", "domains:\n  web:\n    disks:\n      - volume: v\n        buss: sata\n", "Unknown attribute", 5, 9,
     '"disks[0].buss"'),
    ("type.yaml", "domains:\n  web:\n    vcpu: two\n", "Invalid value", 3, 5, '"vcpu"'),
    ("bool.hcl", 'pool "p" {\n  path = "/srv/p"\n  autostart = "maybe"\n}\n', "Invalid value", 3, 3, '"autostart"'),
    ("enum.yaml", "networks:\n  lab:\n    mode: bridged\n", "Invalid value", 3, 5,
     "'nat', 'route', 'isolated', 'open', 'bridge', 'macvtap' or 'hostdev'"),
    ("size.yaml", "domains:\n  web:\n    memory: -1GiB\n", "Invalid value", 3, 5, "not a size"),
    ("zero.yaml", "domains:\n  web:\n    memory: 0\n", "Invalid value", 3, 5, "greater than zero"),
    ("huge.yaml", "domains:\n  web:\n    memory: 9000TiB\n", "Invalid value", 3, 5, "at most 1 PiB"),
    ("bridge.yaml", GOOD_NET + "    bridge: a-very-long-bridge-name\n", "Invalid value", 5, 5, '"bridge"'),
    ("traversal.yaml", "pools:\n  p:\n    path: /srv/../etc\n", "Invalid value", 3, 5, "without '..'"),
    ("relative.yaml", "pools:\n  p:\n    path: images\n", "Invalid value", 3, 5, "absolute path"),
    ("dhcp.yaml", GOOD_NET + "    dhcp: {start: 10.0.0.2, end: 10.0.0.9}\n", "Invalid value", 5, 5,
     "inside 192.168.150.0/24"),
    ("ipv6.yaml", GOOD_NET + "    ipv6: fd00:150::1/64\n", "Invalid value", 5, 5, "not an IPv6 network"),
    ("ipv6-prefix.hcl", 'network "lab" {\n  ipv4 = "10.0.0.0/24"\n  ipv6 = "fd00::/48"\n  dhcp6 {\n'
     '    start = "fd00::10"\n    end = "fd00::20"\n  }\n}\n', "Invalid value", 4, 3, "/64 or longer"),
    ("dhcp6.yaml", GOOD_NET + "    ipv6: fd00:150::/64\n    dhcp6: {start: 'fd00:151::2', end: 'fd00:151::9'}\n",
     "Invalid value", 6, 5, "inside fd00:150::/64"),
    ("dhcp6-mac.yaml", GOOD_NET + "    ipv6: fd00:150::/64\n    dhcp6:\n      hosts:\n"
     "        - {mac: '52:54:00:00:00:01', ip: 'fd00:150::10'}\n", "Unknown attribute", 8, 12, "id, name, ip"),
    ("cidr.yaml", "networks:\n  lab:\n    ipv4: 192.168.150.1/24\n", "Invalid value", 3, 5, "CIDR"),
    ("missing.yaml", "pools:\n  p:\n    autostart: true\n", "Missing required attribute", 2, 3, '"path"'),
    ("ref.yaml", "volumes:\n  v:\n    pool: nowhere\n    capacity: 1GiB\n", "Reference to undeclared resource", 3, 5,
     "volume.v refers through \"pool\" to pool.nowhere"),
    ("dupkey.yaml", GOOD_NET + "  lab:\n    mode: isolated\n", "Invalid YAML", 5, 3, "duplicate key"),
    ("section.yaml", "netwroks:\n  lab: {}\n", "Unknown section", 1, 1, "networks"),
    ("block.hcl", 'netwrok "lab" {\n}\n', "Unknown resource type", 1, 1, "network"),
    ("label.hcl", 'network {\n}\n', "Missing resource name", 1, 1, 'network "NAME"'),
    ("expr.hcl", 'network "lab" {\n  mode = "a" + 2\n}\n', "Invalid operand", 2, 14,
     "the left operand of + must be a number, not a string 'a'"),
    ("name.yaml", "pools:\n  ../etc:\n    path: /srv\n", "Invalid resource name", 2, 3, "not a valid name"),
    ("mac.yaml", "domains:\n  web:\n    interfaces:\n      - {network: n, mac: '52:54:00:00:00:01'}\n"
     "      - {network: n, mac: '52:54:00:00:00:01'}\nnetworks:\n  n: {mode: isolated}\n",
     "Invalid value", 2, 3, "used by two interfaces"),
    ("top.yaml", "- networks\n", "Unexpected document", 1, 1, "mapping of resource types"),
    ("lifecycle.yaml", "pools:\n  p:\n    path: /srv\n    lifecycle:\n      prevent_destroi: true\n",
     "Unknown attribute", 5, 7, 'Did you mean "prevent_destroy"'),
    ("lifecycle.hcl", 'pool "p" {\n  path = "/srv"\n  lifecycle {\n    ignore_changes = "x"\n  }\n}\n',
     "Invalid value", 4, 5, '"lifecycle.ignore_changes"'),
    ("depends.yaml", "pools:\n  p:\n    path: /srv\n    depends_on: [network.gone]\n",
     "Reference to undeclared resource", 4, 18, "network.gone"),
    ("depends_bad.yaml", "pools:\n  p:\n    path: /srv\n    depends_on: [gone]\n", "Invalid value", 4, 5, "not a resource address"),
    # variables, outputs, count, for_each and expressions
    ("undefined_var.hcl", 'network "lab" {\n  mode = var.mode\n}\n', "Reference to undeclared variable", 2, 10,
     'variable "mode"'),
    ("undefined_var.yaml", "pools:\n  p:\n    path: /srv/${var.dir}\n", "Reference to undeclared variable", 3, 5,
     "var.dir is not declared"),
    ("var_type.hcl", 'variable "n" {\n  type    = number\n  default = "many"\n}\n', "Invalid value for variable",
     3, 3, "var.n from its default: a string is not a number"),
    ("var_required.yaml", "variables:\n  size:\n    type: string\n", "No value for required variable", 2, 3,
     "--var size=VALUE"),
    ("var_badtype.yaml", "variables:\n  n:\n    type: list(strin)\n", "Invalid type", 3, 5, "list(TYPE)"),
    ("function.hcl", 'pool "p" {\n  path = cidrhost("10.0.0.0/24", 999)\n}\n', "Invalid function call", 2, 10,
     "host number 999 is outside 10.0.0.0/24"),
    ("function_args.yaml", "pools:\n  p:\n    path: ${join(\"/\")}\n", "Invalid function call", 3, 5,
     "join() takes at least 2 arguments, not 1"),
    ("unknown_function.hcl", 'pool "p" {\n  path = uper("/srv")\n}\n', "Unknown function", 2, 10,
     "There is no function named 'uper'. Did you mean upper()?"),
    ("template.hcl", 'pool "p" {\n  path = templatefile("nope.j2", {})\n}\n', "Invalid function call", 2, 10,
     "cannot read"),
    ("count_negative.yaml", "pools:\n  p:\n    path: /srv\n    count: -1\n", "Invalid count", 4, 5,
     "0 or more; it is -1"),
    ("count_string.hcl", 'pool "p" {\n  path = "/srv"\n  count = "two"\n}\n', "Invalid count", 3, 3, "a string"),
    ("for_each.yaml", "pools:\n  p:\n    path: /srv\n    for_each: 3\n", "Invalid for_each", 4, 5,
     "a map, or a list of distinct strings"),
    ("for_each_keys.hcl", 'pool "p" {\n  for_each = ["a", "b", "a"]\n  path = "/srv/${each.key}"\n}\n',
     "Duplicate instance keys", 2, 3, "'a' more than once"),
    ("both.yaml", "pools:\n  p:\n    path: /srv\n    count: 1\n    for_each: [a]\n", "Invalid meta-arguments", 5, 5,
     "not both"),
    ("missing_instance.hcl", 'pool "p" {\n  path = "/srv"\n}\nvolume "v" {\n  count = 2\n  pool = pool.p\n'
     '  capacity = "1GiB"\n}\ndomain "d" {\n  disk {\n    volume = volume.v[5]\n  }\n}\n',
     "Reference to missing instance", 11, 14, "volume.v[5] does not exist; the instances are: volume.v[0], volume.v[1]"),
    ("missing_key.yaml", "pools:\n  p:\n    for_each: {a: /srv/a}\n    path: ${each.value}\nvolumes:\n  v:\n"
     "    pool: ${pool.p[\"b\"]}\n    capacity: 1GiB\n", "Reference to missing instance", 7, 5, 'pool.p["a"]'),
    ("cycle.yaml", "pools:\n  a:\n    path: ${pool.b.path}/a\n  b:\n    path: ${pool.a.path}/b\n", "Dependency cycle",
     3, 5, "pool.a -> pool.b -> pool.a"),
    ("count_index.yaml", "pools:\n  p:\n    path: /srv/${count.index}\n", "Invalid reference", 3, 5,
     "only available in a resource that sets `count`"),
    ("unclosed.yaml", "pools:\n  p:\n    path: /srv/${var.x\n", "Unsupported expression", 3, 5, "no closing"),
    ("attribute.hcl", 'pool "p" {\n  path = "/srv"\n}\npool "q" {\n  path = "${pool.p.paht}/q"\n}\n',
     "Unsupported attribute", 5, 13, "no attribute 'paht'"),
    ("same_name.hcl", 'pool "p" {\n  count = 2\n  name = "same"\n  path = "/srv/${count.index}"\n}\n',
     "Duplicate object name", 1, 1, "pool.p[0] and pool.p[1]"),
    ("object_name.yaml", "pools:\n  p:\n    for_each: {'a b': /srv/a}\n    path: ${each.value}\n", "Invalid object name",
     2, 3, "'p-a b'"),
    ("output_ref.hcl", 'output "x" {\n  value = network.gone.name\n}\n', "Reference to undeclared resource", 2, 11,
     "network.gone"),
    ("output_sensitive.yaml", "variables:\n  pw: {default: s3cret, sensitive: true}\noutputs:\n  pw: {value: '${var.pw}'}\n",
     "Output refers to sensitive values", 4, 8, "mark the output `sensitive = true`"),
    ("capacity.yaml", "volumes:\n  v:\n    pool: p\n", "Invalid value", 2, 3, "`capacity` is required"),
    ("checksum.yaml", "volumes:\n  v:\n    pool: p\n    capacity: 1GiB\n    checksum: sha256:00\n",
     "Invalid value", 5, 5, '"checksum"'),
    ("nosource.yaml", "volumes:\n  v:\n    pool: p\n    capacity: 1GiB\n    checksum: sha256:" + "0" * 64 + "\n",
     "Invalid value", 2, 3, "`checksum` needs `source`"),
    ("scheme.yaml", "volumes:\n  v:\n    pool: p\n    source: ftp://host/x.img\n", "Invalid value", 4, 5,
     "only local files and http(s) URLs"),
    ("overlay.hcl", 'volume "v" {\n  pool = "p"\n  backing_store = "b"\n  format = "raw"\n}\n', "Invalid value", 1, 1,
     "must have format qcow2"),
    ("seed.yaml", "cloudinits:\n  s:\n    pool: p\n", "Invalid value", 2, 3, "needs `user_data` or `user_data_template`"),
    # self-references, format(), values shown, limits, syntax (issue 10)
    ("self_depends.yaml", "pools:\n  p:\n    path: /srv\n    depends_on: [pool.p]\n", "Self-reference", 4, 18,
     'pool.p names itself in "depends_on[0]"'),
    ("self_backing.yaml", "pools:\n  p: {path: /srv}\nvolumes:\n  v:\n    pool: p\n    capacity: 1GiB\n"
     "    format: qcow2\n    backing_store: v\n", "Self-reference", 8, 5, 'volume.v names itself in "backing_store"'),
    ("self_backing.hcl", 'pool "p" {\n  path = "/srv"\n}\nvolume "v" {\n  pool = pool.p.name\n  capacity = "1GiB"\n'
     '  backing_store = "v"\n}\n', "Self-reference", 7, 3, "cannot depend on itself"),
    ("self_expression.hcl", 'pool "p" {\n  path = "/srv/${pool.p.name}"\n}\n', "Self-reference", 2, 18,
     "pool.p refers to itself"),
    ("format_verb.hcl", 'pool "p" {\n  path = format("/srv/%y", 1)\n}\n', "Invalid function call", 2, 10,
     "the verb '%y' (character 6) is not a verb format knows"),
    ("format_args.hcl", 'pool "p" {\n  path = format("/srv/%d/%d", 1)\n}\n', "Invalid function call", 2, 10,
     "needs argument 2, but only 1 were given"),
    ("format_name.hcl", 'pool "p" {\n  path = "/srv"\n  name = format("p %02d", 3)\n}\n', "Invalid value", 3, 3,
     "The value is 'p 03'"),
    ("value_shown.yaml", "domains:\n  web:\n    vcpu: two\n", "Invalid value", 3, 5, "The value is 'two'"),
    ("count_huge.hcl", 'pool "p" {\n  count = 99999999999999999999\n  path = "/srv"\n}\n', "Too many instances",
     2, 3, "at most 10,000 instances"),
    ("count_huge.yaml", "pools:\n  p:\n    count: 99999999999999999999\n    path: /srv\n", "Too many instances",
     3, 5, "at most 10,000 instances"),
    ("format_width.hcl", 'pool "p" {\n  path = format("%999999999d", 1)\n}\n', "Value too large", 2, 10,
     "at most 1,048,576"),
    ("dangling_operator.hcl", 'domain "d" {\n  vcpu = 2 +\n  memory = "1GiB"\n}\n', "Invalid HCL", 2, 12,
     "ends with '+' at the end of line 2"),
    ("dangling_last.hcl", 'domain "d" {\n  memory = "1GiB"\n  vcpu = 2 +\n}\n', "Invalid HCL", 3, 12,
     "a value must follow an operator"),
    ("unexpected_token.hcl", 'domain "d" {\n  vcpu = 2 4\n}\n', "Invalid HCL", 2, 12,
     "Unexpected '4'; expected"),
    ("locals_cycle.hcl", 'locals {\n  a = local.b + 1\n  b = local.c\n  c = local.a\n}\npool "p" {\n  path = "/srv/${local.a}"\n}\n',
     "Dependency cycle", None, None, "local.a -> local.b -> local.c -> local.a (local.a at 2:7; local.b at 3:7; local.c at 4:7)"),
    ("locals_self.yaml", "locals:\n  a: ${local.a}\npools:\n  p:\n    path: /srv\n", "Self-reference", 2, 3,
     "local.a refers to itself"),
    ("locals_undeclared.hcl", 'locals {\n  a = local.nope\n}\n', "Reference to undeclared local value", 2, 7,
     "local.nope is not declared"),
    ("locals_twice.hcl", 'locals {\n  a = 1\n}\nlocals {\n  a = 2\n}\n', "Duplicate local value", 5, 3,
     "local.a is declared twice"),
    ("locals_label.hcl", 'locals "x" {\n  a = 1\n}\n', "Unexpected label", 1, 1, "takes no label"),
    ("locals_error.yaml", "locals:\n  a: ${1 + \"x\"}\npools:\n  p:\n    path: /srv/${local.a}\n", "Invalid operand", 2, 3,
     "the right operand of + must be a number, not a string 'x'"),
    ("for_dup.hcl", 'pool "p" {\n  path = "/srv"\n  for_each = {for s in ["a", "a"] : s => s}\n}\n', "Duplicate object key",
     3, 37, "Two items give the key 'a'"),
    ("cond_type.hcl", 'pool "p" {\n  path = 1 ? "/a" : "/b"\n}\n', "Invalid condition", 2, 10,
     "must be true or false, not a number 1"),
    ("directive.yaml", "pools:\n  p:\n    path: '/srv%{ if true }x'\n", "Unsupported expression", 3, 5,
     "has no %{ endif }"),
    ("validation.hcl", 'variable "n" {\n  default = 20\n  validation {\n    condition = var.n <= 16\n'
     '    error_message = "At most 16, not ${var.n}."\n  }\n}\n', "Invalid value for variable", 2, 3,
     "At most 16, not 20.\n\nvar.n is 20, from its default; this was checked by the validation rule at"),
    ("validation.yaml", "variables:\n  ip:\n    default: 10.0.0\n    validation:\n      - condition: ${can(cidrhost(\"${var.ip}/32\", 0))}\n"
     "        error_message: Not an IPv4 address.\n", "Invalid value for variable", 3, 5, "Not an IPv4 address."),
    ("validation_type.hcl", 'variable "n" {\n  default = 1\n  validation {\n    condition = var.n\n    error_message = "x"\n  }\n}\n',
     "Invalid validation rule", 3, 3, "must give true or false, not a number"),
    ("validation_shape.yaml", "variables:\n  n:\n    default: 1\n    validation:\n      - condition: true\n", "Invalid validation rule",
     5, 9, "exactly two attributes"),
    ("nullable.hcl", 'variable "n" {\n  default = null\n  nullable = false\n}\n', "Invalid value for variable", 2, 3,
     "is null, and the variable is declared `nullable = false`"),
    ("optional_default.hcl", 'variable "o" {\n  type = object({ a = optional(number, "x") })\n}\n', "Invalid type", 2, 23,
     "The default of optional(number) is not a number"),
    ("hostdev_forms.hcl", 'domain "d" {\n  hostdev {\n    pci    = "0000:01:00.0"\n    vendor = "0x046d"\n  }\n}\n',
     "Invalid value", 2, 3, "exactly one of `pci`"),
    ("hostdev_pci.yaml", "domains:\n  d:\n    hostdevs:\n      - pci: 01:00.0\n", "Invalid value", 4, 9,
     '"hostdevs[0].pci"'),
    ("hostdev_twice.yaml", "domains:\n  d:\n    hostdevs: [{pci: '0000:01:00.0'}, {pci: '0000:01:00.0'}]\n",
     "Invalid value", 3, 5, "passed through twice"),
    ("usb_sound.yaml", "domains:\n  d:\n    usb_controller: none\n    sound: usb\n", "Invalid value", 4, 5,
     "this `sound` value needs a USB bus"),
    ("redirect.yaml", "domains:\n  d:\n    usb_redirects: 1\n", "Invalid value", 3, 5, "set graphics type spice"),
    ("netfs.hcl", 'pool "p" {\n  type = "netfs"\n  path = "/mnt/x"\n  source {\n    host = "nas"\n  }\n}\n',
     "Invalid value", 4, 3, '"source": a netfs pool needs `source` with dir, host; missing: dir'),
    ("iscsi.yaml", "pools:\n  san:\n    type: iscsi\n", "Invalid value", 2, 3, "needs `source` with host, iqn; missing: host, iqn."),
    ("itco.hcl", 'domain "d" {\n  machine = "pc"\n  watchdog {\n    model = "itco"\n  }\n}\n', "Invalid value", 3, 3,
     "the itco watchdog is part of the q35 chipset"),
    ("no_usb.hcl", 'domain "d" {\n  usb_controller = "none"\n  input {\n    type = "tablet"\n  }\n}\n',
     "Invalid value", 3, 3, "this `inputs` value needs a USB bus"),
    ("pins.yaml", "domains:\n  d:\n    vcpu: 2\n    cputune:\n      vcpu_pins: ['0', '1', '0']\n", "Invalid value", 4, 5,
     "at most 2"),
    ("cpuset.yaml", "domains:\n  d:\n    cputune:\n      emulator_pin: 3-1\n", "Invalid value", 4, 7,
     "runs backwards"),
    ("numa.hcl", 'domain "d" {\n  numatune {\n    nodeset = "zero"\n  }\n}\n', "Invalid value", 3, 5,
     '"numatune.nodeset"'),
    ("hugepage.yaml", "domains:\n  d:\n    memory_backing: {hugepage_size: 2MiB}\n", "Invalid value", 3, 5,
     "needs `hugepages = true`"),
    ("virtiofs_shared.yaml", "domains:\n  d:\n    filesystems: [{source: /srv, target: s}]\n"
     "    memory_backing: {shared: false}\n", "Invalid value", 4, 5, "need shared memory"),
    ("import_shape.hcl", 'import {\n  to = network.lab\n}\n', "Invalid import block", 1, 1, "it lacks id"),
    ("import_extra.yaml", "import:\n  - to: network.lab\n    id: lab\n    provider: x\n", "Invalid import block", 2, 5,
     "not provider"),
    ("import_type.hcl", 'import {\n  to = disk.lab\n  id = "lab"\n}\n', "Unknown resource type", 2, 3,
     "disk.lab is not of a resource type"),
    ("import_to.hcl", 'import {\n  to = "network"\n  id = "lab"\n}\n', "Invalid address", 2, 3,
     "'network' is not a resource address"),
    ("import_id.hcl", 'import {\n  to = network.lab\n  id = 42\n}\n', "Invalid import block", 3, 3,
     "`id` is the object's name in libvirt, a non-empty string, not 42"),
    ("import_for_each.hcl", 'import {\n  for_each = 3\n  to = network.lab[each.key]\n  id = "lab"\n}\n',
     "Invalid for_each", 2, 3, "a map or a list of strings, not a number"),
    ("import_each.yaml", "import:\n  - for_each: [a]\n    to: network.lab[each.nope]\n    id: x\n",
     "Invalid address", 3, 5, "'network.lab[each.nope]' is not a resource address"),
    ("import_each_key.yaml", "import:\n  - for_each: [a]\n    to: network.lab[\"${each.nope}\"]\n    id: x\n",
     "Invalid reference", 3, 5, "`each` has two attributes, each.key and each.value"),
    ("import_twice.hcl", 'import {\n  to = network.lab\n  id = "a"\n}\nimport {\n  to = network.lab\n  id = "b"\n}\n',
     "Duplicate import", 6, 3, "network.lab is imported twice"),
    ("seed_template.hcl", 'cloudinit "s" {\n  pool = "p"\n  user_data_template = "missing.j2"\n}\n', "Invalid value", 1, 1,
     "cannot read the template"),
]


@pytest.mark.parametrize("name,content,summary,line,column,detail", CASES, ids=[c[0] for c in CASES])
def test_bad_input(tmp_path: Path, name, content, summary, line, column, detail) -> None:
    path = tmp_path / name
    path.write_text(content)
    result = CliRunner().invoke(app, ["validate", "--no-color", str(path)])
    err = result.stderr
    assert result.exit_code == 1, err
    assert "Traceback" not in err and result.exception is None or isinstance(result.exception, SystemExit)
    assert f"Error: {summary}" in err
    loc = re.search(rf"on {re.escape(str(path))} line (\d+), column (\d+)", err)
    assert loc, err
    if line is not None:
        assert int(loc.group(1)) == line, err
    if column is not None:
        assert int(loc.group(2)) == column, err
    assert detail in err


def test_duplicate_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD_NET)
    (tmp_path / "b.hcl").write_text('network "lab" {\n  mode = "isolated"\n}\n')
    result = CliRunner().invoke(app, ["validate", "--no-color", str(tmp_path)])
    assert result.exit_code == 1
    assert "Error: Duplicate resource" in result.stderr
    assert f"on {tmp_path / 'b.hcl'} line 1, column 1" in result.stderr
    assert f"{tmp_path / 'a.yaml'}:2:3" in result.stderr


def test_every_error_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "main.yaml").write_text("domains:\n  a:\n    vcpu: x\n  b:\n    memroy: 1GiB\n")
    result = CliRunner().invoke(app, ["validate", "--no-color", str(tmp_path)])
    assert result.stderr.count("Error:") == 2


def test_unknown_block_does_not_hide_other_errors(tmp_path: Path) -> None:
    (tmp_path / "main.hcl").write_text('netwrok "lab" {\n}\npool "p" {\n  path = "relative"\n}\n')
    result = CliRunner().invoke(app, ["validate", "--no-color", str(tmp_path)])
    assert "Error: Unknown resource type" in result.stderr and "Error: Invalid value" in result.stderr, result.stderr
    assert "'relative'" in result.stderr


def test_every_missing_reference_reported(tmp_path: Path) -> None:
    (tmp_path / "main.hcl").write_text('pool "p" {\n  path = "${pool.a.path}/${pool.b.path}"\n}\nvolume "v" {\n'
                                       '  pool = pool.c\n  capacity = "1GiB"\n  name = var.x\n}\n')
    result = CliRunner().invoke(app, ["validate", "--no-color", str(tmp_path)])
    for missing in ("pool.a is not", "pool.b is not", "pool.c is not", "var.x is not"):
        assert missing in result.stderr, result.stderr
    assert result.stderr.count("Error:") == 4


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    missing = CliRunner().invoke(app, ["validate", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "No such file or folder" in missing.stderr
    empty = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert empty.exit_code == 1 and "No configuration files" in empty.stderr


@pytest.mark.parametrize("args,env,summary,detail", [
    (["--var", "n=many"], {}, "Invalid value for variable", "var.n from --var 'n=many': a string is not a number"),
    ([], {"KVMSTATE_VAR_n": "x"}, "Invalid value for variable", "from the environment variable KVMSTATE_VAR_n"),
    (["--var", "m=1"], {}, "Undeclared variable", "declared: n"),
], ids=["cli", "env", "undeclared"])
def test_bad_variable_value(tmp_path: Path, args, env, summary, detail) -> None:
    """A value of the wrong type names its source, and the error points at the declaration."""
    path = tmp_path / "main.hcl"
    path.write_text('variable "n" {\n  type = number\n  default = 1\n}\n')
    result = CliRunner(env=env).invoke(app, ["validate", "--no-color", str(path), *args])
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    assert f"Error: {summary}" in result.stderr and detail in result.stderr, result.stderr
    if summary != "Undeclared variable":
        assert f"on {path} line 1, column 1" in result.stderr


def test_bad_var_file(tmp_path: Path) -> None:
    (tmp_path / "main.yaml").write_text("variables:\n  n: {type: number}\n")
    (tmp_path / "vals.tfvars").write_text("# values\nn = \"lots\"\n")
    result = CliRunner().invoke(app, ["validate", "--no-color", str(tmp_path / "main.yaml"),
                                      "--var-file", str(tmp_path / "vals.tfvars")])
    assert result.exit_code == 1
    assert f"on {tmp_path / 'vals.tfvars'} line 2, column 1" in result.stderr, result.stderr
    assert "a string is not a number" in result.stderr


def test_optional_attributes_and_nullable(tmp_path: Path) -> None:
    from kvmstate.config import load
    from kvmstate.config.variables import Inputs
    from kvmstate.provider import Registry
    from tests.engine.fake_provider import FakeProvider
    (tmp_path / "main.hcl").write_text('variable "o" {\n  type = object({ a = string, b = optional(number, 5), '
                                       'c = optional(list(string)) })\n  default = { a = "x" }\n}\n'
                                       'variable "n" {\n  default = "d"\n  nullable = false\n}\n'
                                       'variable "m" {\n  type = string\n  default = null\n}\n')
    var_file = tmp_path.parent / f"{tmp_path.name}-vars.yaml"
    var_file.write_text("n: null\n")
    config = load(tmp_path, Registry([FakeProvider()]), Inputs(var_files=[var_file], env={}))
    assert config.variables == {"o": {"a": "x", "b": 5, "c": None}, "n": "d", "m": None}


def test_hidden_files_beside_the_configuration_are_not_read(tmp_path: Path) -> None:
    """Trial: a `.gitlab-ci.yml` (or an editor's hidden file) beside main.hcl was read as configuration, and
    `kvmstate fmt` would rewrite the YAML under `.github/`."""
    (tmp_path / "main.hcl").write_text('network "lab" {\n  mode = "isolated"\n}\n')
    (tmp_path / ".gitlab-ci.yml").write_text("stages: [plan]\nplan:\n  script: [kvmstate plan]\n")
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "ci.yml").write_text("on:   push\n")
    result = CliRunner().invoke(app, ["validate", "--no-color", str(tmp_path)])
    assert result.exit_code == 0 and "(1 resources in 1 files)" in result.stdout, result.output
    assert CliRunner().invoke(app, ["fmt", "--check", str(tmp_path)]).exit_code == 0
    assert (tmp_path / ".github" / "ci.yml").read_text() == "on:   push\n"
