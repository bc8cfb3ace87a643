# A Windows-11-ready workstation VM: UEFI with Secure Boot, an emulated TPM 2.0, the QEMU
# guest agent, a host folder shared through virtiofs, and a fixed address from a static
# DHCP host entry. Install the OS from an ISO of your own (add a cdrom block and
# boot_order = ["cdrom", "disk"]), or attach a prepared disk image.
#
#   kvmstate apply examples/workstation                       # on a KVM host
#   kvmstate apply examples/workstation --var virt_type=qemu  # without /dev/kvm (slow)

variable "prefix" {
  type        = string
  default     = "ws"
  description = "Prefix of every libvirt object name."
}

variable "virt_type" {
  type        = string
  default     = "kvm"
  description = "kvm, or qemu (software emulation) on a host without /dev/kvm."
}

variable "memory" {
  type    = string
  default = "4GiB"
}

variable "subnet" {
  type    = string
  default = "192.168.160.0/24"
}

variable "pool_path" {
  type    = string
  default = "/var/lib/libvirt/workstation"
}

variable "mac" {
  type        = string
  default     = "52:54:00:16:00:10"
  description = "The workstation's MAC address; the network always gives it the same address."
}

network "lan" {
  name   = "${var.prefix}-lan"
  mode   = "nat"
  ipv4   = var.subnet
  domain = "ws.test"
  dhcp {
    start = cidrhost(var.subnet, 100)
    end   = cidrhost(var.subnet, 199)
    host {
      mac  = var.mac
      ip   = cidrhost(var.subnet, 10)
      name = "desk"
    }
  }
  dns {
    host {
      ip        = cidrhost(var.subnet, 1)
      hostnames = ["gateway"]
    }
  }
}

pool "images" {
  name = "${var.prefix}-images"
  path = var.pool_path
}

volume "root" {
  name     = "${var.prefix}-desk.qcow2"
  pool     = pool.images
  capacity = "64GiB"
}

domain "desk" {
  name        = "${var.prefix}-desk"
  type        = var.virt_type
  machine     = "q35"
  firmware    = "uefi"
  secure_boot = true
  memory      = var.memory
  vcpu        = 2
  disk {
    volume  = volume.root
    discard = "unmap"
    serial  = "desk-root"
  }
  interface {
    network = network.lan
    mac     = var.mac
  }
  tpm {
    model   = "tpm-crb"
    version = "2.0"
  }
  guest_agent = true
  rng         = true
  video       = "virtio"
  graphics {
    type = "spice"
  }
  filesystem {
    source = pool.images.path # any host folder; mount -t virtiofs shared /mnt in the guest
    target = "shared"
  }
  on_crash = "restart"
}
