# A realistic lab: one NAT network, one Debian cloud image as the base, and three VMs
# booted from copy-on-write overlays of it, each configured by its own cloud-init seed.
#
#   kvmstate apply examples/lab --var 'ssh_key=ssh-ed25519 AAAA... you@host'
#   kvmstate output --path examples/lab
#
# The image is downloaded once into the pool (streamed through libvirt, so this works
# against a remote host too) and checked against its sha256; the VMs only store what
# they change.
#
# The defaults are the real-world ones. On a small test machine (CI), the test
# tests/integration/test_examples.py shrinks the lab through variables:
#   --var image_url=http://127.0.0.1:PORT/base.qcow2   a small local image, served on loopback
#   --var memory=64MiB  --var domain_type=qemu        small guests under software emulation
#   --var wait_for_ip=false                           the blank image boots nothing, so no lease

variable "ssh_key" {
  type        = string
  sensitive   = true
  description = "Public key allowed to log in as the `debian` user."
}

variable "image_url" {
  type    = string
  default = "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2"
}

variable "memory" {
  type        = string
  default     = "1GiB"
  description = "Memory of each VM."
}

variable "domain_type" {
  type        = string
  default     = "kvm"
  description = "kvm, or qemu (software emulation) on a host without hardware virtualisation."
}

variable "wait_for_ip" {
  type        = bool
  default     = true
  description = "Apply waits for each VM's DHCP lease and records its address (see outputs.yaml)."
}

variable "vms" {
  type        = map(string)
  description = "VM name -> root disk size."
  default = {
    web   = "10GiB"
    db    = "20GiB"
    cache = "10GiB"
  }
}

network "lab" {
  name      = "lab-net"
  mode      = "nat"
  bridge    = "ks-lab0"
  ipv4      = "192.168.160.0/24"
  autostart = true
  dhcp {
    start = "192.168.160.10"
    end   = "192.168.160.99"
  }
}

pool "lab" {
  name      = "lab"
  path      = "/var/lib/libvirt/kvmstate-lab"
  autostart = true
}

volume "base" {
  name   = "debian-12.qcow2"
  pool   = pool.lab
  source = var.image_url
  format = "qcow2"
}

volume "root" {
  for_each      = var.vms
  name          = "${each.key}-root.qcow2"
  pool          = pool.lab
  backing_store = volume.base
  capacity      = each.value
}

cloudinit "seed" {
  for_each           = var.vms
  name               = "${each.key}-seed"
  pool               = pool.lab
  user_data_template = "user-data.j2"
  template_vars = {
    hostname = each.key
    ssh_key  = var.ssh_key
  }
}

domain "vm" {
  for_each  = var.vms
  name      = "lab-${each.key}"
  type      = var.domain_type
  memory    = var.memory
  vcpu      = 2
  cloudinit = cloudinit.seed[each.key]
  autostart = true
  disk {
    volume = volume.root[each.key]
  }
  interface {
    network     = network.lab
    wait_for_ip = var.wait_for_ip
  }
}
