# A small cluster made of one reusable module: examples/modules/vm (overlay volume, cloud-init seed,
# domain), called once per node with for_each. Each node's resources are addressed inside the call,
# e.g. module.node["a"].domain.this, and named in libvirt after the node (modcluster-a).
#
#   kvmstate apply examples/modules
#   kvmstate state list --path examples/modules
#
# The defaults are the real-world ones. On a small test machine (CI), tests/integration/test_examples.py
# shrinks it through variables:
#   --var image_url=http://127.0.0.1:PORT/base.qcow2   a small local image, served on loopback
#   --var memory=64MiB  --var domain_type=qemu        small guests under software emulation

variable "image_url" {
  type    = string
  default = "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2"
}

variable "memory" {
  type    = string
  default = "1GiB"
}

variable "domain_type" {
  type    = string
  default = "kvm"
}

variable "nodes" {
  type        = map(string)
  description = "Node name -> root disk size."
  default = {
    a = "10GiB"
    b = "10GiB"
  }
}

network "cluster" {
  name = "modcluster-net"
  mode = "nat"
  ipv4 = "192.168.170.0/24"
  dhcp {
    start = "192.168.170.10"
    end   = "192.168.170.99"
  }
}

pool "cluster" {
  name = "modcluster"
  path = "/var/lib/libvirt/kvmstate-modcluster"
}

volume "base" {
  name   = "modcluster-base.qcow2"
  pool   = pool.cluster
  source = var.image_url
  format = "qcow2"
}

module "node" {
  source      = "./vm"
  for_each    = var.nodes
  name        = "modcluster-${each.key}"
  pool        = pool.cluster
  base        = volume.base
  network     = network.cluster
  disk_size   = each.value
  memory      = var.memory
  domain_type = var.domain_type
}

output "nodes" {
  value = { for key, node in module.node : key => node.name }
}
