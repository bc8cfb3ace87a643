# Three hosts from variables, the same network and pool on each through for_each, VMs spread over them.
#
#   kvmstate plan examples/multi-host --var-file my-hosts.json
#
# where my-hosts.json names your hosts, for example
#   {"hosts": {"kvm1": "qemu+ssh://root@kvm1.example.com/system?no_tty=1", ...},
#    "vms":   {"web1": "kvm1", "web2": "kvm2", "db": "kvm3"}}
# See docs/hosts.md for URIs, SSH settings and what happens when a host goes away.

variable "hosts" {
  description = "Host name -> libvirt URI."
  type        = map(string)
  default = {
    kvm1 = "qemu+ssh://root@kvm1.example.com/system?no_tty=1"
    kvm2 = "qemu+ssh://root@kvm2.example.com/system?no_tty=1"
    kvm3 = "qemu+ssh://root@kvm3.example.com/system?no_tty=1"
  }
}

variable "vms" {
  description = "VM name -> the host it runs on."
  type        = map(string)
  default = {
    web1 = "kvm1"
    web2 = "kvm2"
    db   = "kvm3"
  }
}

# One host per entry of var.hosts, named by its key.
host "each" {
  for_each = var.hosts
  uri      = each.value
}

# The same network on every host: each is called "lab" in its host's libvirt.
network "lab" {
  for_each = var.hosts
  host     = each.key
  name     = "lab"
  mode     = "nat"
  ipv4     = "192.168.160.0/24"
  dhcp {
    start = "192.168.160.10"
    end   = "192.168.160.99"
  }
  autostart = true
}

pool "images" {
  for_each = var.hosts
  host     = each.key
  name     = "images"
  type     = "dir"
  path     = "/var/lib/libvirt/kvmstate-multi"
}

volume "root" {
  for_each = var.vms
  host     = each.value
  name     = "${each.key}-root"
  pool     = "images"            # a plain name finds the pool on the volume's own host
  capacity = "2GiB"
  format   = "qcow2"
}

domain "vm" {
  for_each = var.vms
  host     = each.value
  name     = each.key
  type     = "qemu"              # software emulation; use kvm on hosts with hardware virtualisation
  vcpu     = 1
  memory   = "256MiB"
  disk {
    volume = volume.root[each.key]
  }
  interface {
    network = "lab"              # the "lab" network of the VM's host
  }
}
