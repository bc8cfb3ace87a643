# A reusable guest: a copy-on-write overlay of a base volume, a cloud-init seed and the domain itself.
# Pass resources (pool, base, network) as references; the variables that take them have no type, so
# they keep the resource's identity and the guest depends on it.

variable "name" {
  type        = string
  description = "The guest's name in libvirt; its volumes are named after it."
}

variable "pool" {
  description = "The pool the guest's volumes live in (a reference, e.g. pool.cluster)."
}

variable "base" {
  description = "The base volume the root disk is an overlay of (a reference, e.g. volume.base)."
}

variable "network" {
  description = "The network the guest's one interface is on (a reference, e.g. network.cluster)."
}

variable "disk_size" {
  type    = string
  default = "10GiB"
}

variable "memory" {
  type    = string
  default = "1GiB"
}

variable "domain_type" {
  type        = string
  default     = "kvm"
  description = "kvm, or qemu (software emulation) on a host without hardware virtualisation."
}

variable "ssh_key" {
  type      = string
  default   = ""
  sensitive = true
}

volume "root" {
  name          = "${var.name}-root.qcow2"
  pool          = var.pool
  backing_store = var.base
  capacity      = var.disk_size
}

cloudinit "seed" {
  name               = "${var.name}-seed"
  pool               = var.pool
  user_data_template = "user-data.j2"
  template_vars = {
    hostname = var.name
    ssh_key  = var.ssh_key
  }
}

domain "this" {
  name      = var.name
  type      = var.domain_type
  memory    = var.memory
  cloudinit = cloudinit.seed
  disk {
    volume = volume.root
  }
  interface {
    network = var.network
  }
}

output "name" {
  value = domain.this.name
}

output "root_volume" {
  value = volume.root.name
}
