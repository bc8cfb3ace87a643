# The same lab as examples/basic, in HCL.
network "basic-net" {
  mode      = "nat"
  bridge    = "ks-basic0"
  ipv4      = "192.168.150.0/24"
  autostart = true
  dhcp {
    start = "192.168.150.10"
    end   = "192.168.150.99"
  }
}

pool "basic-pool" {
  type = "dir"
  path = "/var/lib/libvirt/kvmstate-basic"
}

volume "basic-root" {
  pool     = "basic-pool"
  capacity = "1GiB"
  format   = "qcow2"
}

domain "basic-vm" {
  description = "kvmstate basic example"
  type        = "qemu" # software emulation; use kvm on hosts with hardware virtualisation
  vcpu        = 1
  memory      = "128MiB"
  power       = "running"

  disk {
    volume = "basic-root"
  }

  interface {
    network = "basic-net"
  }
}
